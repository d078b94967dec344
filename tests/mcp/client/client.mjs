// A real MCP client for the Rust tests: the official TypeScript SDK, connected to the guard's
// MCP server over stdio (`client.mjs stdio COMMAND ARG...`, the server's environment inherited)
// or streamable HTTP (`client.mjs http URL`).
//
// Protocol with the test, one JSON object per line:
//   stdout first: {"event":"ready","server":{name,version},"instructions":...}
//   stdin:  {"id":1,"op":"list"}                          -> {"id":1,"tools":[...]}
//   stdin:  {"id":2,"op":"call","name":N,"arguments":{}}  -> {"id":2,"result":{...}}
//   any failure of a command                              -> {"id":N,"error":"..."}
// Commands run concurrently; results carry the id of their command. stdin closed: the client
// disconnects and exits.

import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

// What hosts use: a tool call that takes longer than this fails on the client's side.
const REQUEST_TIMEOUT_MS = 60_000;

const write = (object) => process.stdout.write(`${JSON.stringify(object)}\n`);

function transportFromArgs(args) {
  const [kind, ...rest] = args;
  if (kind === 'stdio' && rest.length > 0) {
    const [command, ...commandArgs] = rest;
    return new StdioClientTransport({ command, args: commandArgs, env: process.env, stderr: 'inherit' });
  }
  if (kind === 'http' && rest.length === 1) {
    return new StreamableHTTPClientTransport(new URL(rest[0]));
  }
  throw new Error('usage: client.mjs stdio COMMAND [ARG...] | client.mjs http URL');
}

async function run(client, command) {
  switch (command.op) {
    case 'list': {
      const { tools } = await client.listTools();
      return { tools };
    }
    case 'call': {
      const result = await client.callTool(
        { name: command.name, arguments: command.arguments ?? {} },
        undefined,
        { timeout: REQUEST_TIMEOUT_MS },
      );
      return { result };
    }
    default:
      throw new Error(`unknown op ${command.op}`);
  }
}

async function main() {
  const client = new Client({ name: 'heysummon-rust-tests', version: '0.0.0' });
  await client.connect(transportFromArgs(process.argv.slice(2)));
  write({
    event: 'ready',
    server: client.getServerVersion(),
    instructions: client.getInstructions() ?? null,
  });
  const pending = new Set();
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    let command;
    try {
      command = JSON.parse(line);
    } catch (error) {
      write({ id: null, error: `not JSON: ${error.message}` });
      continue;
    }
    const task = run(client, command)
      .then((answer) => write({ id: command.id, ...answer }))
      .catch((error) => write({ id: command.id, error: String(error?.message ?? error) }));
    pending.add(task);
    task.finally(() => pending.delete(task));
  }
  await Promise.allSettled([...pending]);
  await client.close();
}

main().catch((error) => {
  write({ event: 'failed', error: String(error?.stack ?? error) });
  process.exit(1);
});
