//! Events across instances: a stream on one instance hears what is done on the other, and
//! agents whose instance is killed resume on the other and miss nothing.

use crate::cluster::*;
use crate::common::sse::assert_events_in;
use std::time::Instant;

/// An agent's stream on A receives the answer the expert posts to B; the expert's stream on B
/// hears of a request created on A.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_on_one_instance_receives_an_answer_posted_to_the_other() {
    let Some(c) = Cluster::start(&[]).await else {
        return;
    };

    // A creation on A reaches the expert's stream on B.
    let mut expert_on_b = open_stream(&c, &c.b, STREAM, &c.expert_key, None).await;
    let started = Instant::now();
    let id = c.ask(&c.a, "may I deploy? (asked on A)").await;
    let events = expert_on_b.until("new_request", &id).await;
    assert_events_in(&events, 0, &[("new_request", &id)], "expert's stream on B");
    eprintln!(
        "new_request created on A seen on B after {:?}",
        started.elapsed()
    );

    // The answer posted to B reaches the agent's stream on A.
    let mut agent_on_a = open_stream(&c, &c.a, STREAM, &c.client_key, None).await;
    let started = Instant::now();
    c.answer(&c.b, &id, "yes (answered on B)").await;
    let answered = started.elapsed();
    let events = agent_on_a.until("responded", &id).await;
    let delivered = started.elapsed();
    assert_events_in(
        &events,
        0,
        &[("new_message", &id), ("responded", &id)],
        "agent's stream on A",
    );
    assert_eq!(events[0].json()["from"], "expert", "{:?}", events[0]);
    for frame in &events {
        assert_eq!(frame.json()["status"], "responded", "{frame:?}");
        assert!(
            !frame
                .data
                .as_deref()
                .unwrap_or_default()
                .contains("answered on B"),
            "event carries content: {frame:?}"
        );
    }
    eprintln!("answer posted to B (200 after {answered:?}) delivered on A after {delivered:?}");
    agent_on_a.assert_quiet_in("agent's stream on A").await;
    assert_eq!(c.status(&c.a, &id).await, "responded");
}

/// Agents wait on A's streams; A is killed with SIGKILL; the expert answers on B; each agent
/// resumes on B from the last event id it saw on A and receives its answer: nothing missed,
/// nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_resume_on_the_other_instance_after_kill_9_and_miss_nothing() {
    let Some(mut c) = Cluster::start(&[]).await else {
        return;
    };
    const AGENTS: usize = 3;

    // Each agent opens its stream on A, then asks on A, and reads up to its new_request.
    let mut streams = Vec::new();
    for _ in 0..AGENTS {
        streams.push(open_stream(&c, &c.a, STREAM, &c.client_key, None).await);
    }
    let mut waiting = Vec::new();
    for (n, stream) in streams.iter_mut().enumerate() {
        let id = c.ask(&c.a, &format!("agent {n} waits")).await;
        let seen = stream.until("new_request", &id).await;
        let last = seen.last().unwrap().id();
        waiting.push((id, last));
    }

    // kill -9 of A: its streams end.
    c.a.kill();
    for (n, stream) in streams.iter_mut().enumerate() {
        assert!(stream.ends().await, "agent {n}'s stream on A did not end");
    }
    drop(streams);

    // The expert answers on B: two while every agent is away, the last after it resumed.
    for (id, _) in &waiting[..AGENTS - 1] {
        c.answer(&c.b, id, "answered on B while A is down").await;
    }
    let mut resumed = Vec::new();
    for (id, last) in &waiting {
        let path = format!("{STREAM}?requestId={id}");
        resumed.push(open_stream(&c, &c.b, &path, &c.client_key, Some(*last)).await);
    }
    let (late, _) = &waiting[AGENTS - 1];
    c.answer(&c.b, late, "answered on B after the agent resumed")
        .await;

    for (n, ((id, last), stream)) in waiting.iter().zip(&mut resumed).enumerate() {
        let context = format!("agent {n} resumed on B after event {last}");
        let events = stream.until("responded", id).await;
        assert_events_in(
            &events,
            *last,
            &[("new_message", id), ("responded", id)],
            &context,
        );
        stream.assert_quiet_in(&context).await;
        assert_eq!(c.status(&c.b, id).await, "responded", "{context}");
    }
}
