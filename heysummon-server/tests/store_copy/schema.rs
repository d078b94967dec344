//! The copy's table list against PostgreSQL's migrated schema: every table, every column in
//! order with its type, primary keys, identity columns and foreign-key order. (The same checks
//! against SQLite's schema are unit tests of `store::copy`.) A migration that adds a table or a
//! column fails here until the list says how to copy it.

use std::collections::BTreeSet;

use heysummon_server::store::Store;
use heysummon_server::store::copy::TABLES;
use heysummon_server::testing::postgres::TestDatabase;

use super::pg_client;

#[tokio::test]
async fn the_table_list_is_the_postgres_schema() {
    let Some(pg) = TestDatabase::create().await else {
        return;
    };
    drop(Store::open(pg.url()).await.unwrap());
    let client = pg_client(pg.url()).await;
    let tables: BTreeSet<String> = client
        .query(
            "SELECT table_name::TEXT FROM information_schema.tables
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
             AND table_name NOT IN ('schema_migrations', 'event_inbox')",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    // `event_inbox` only stages events on their way into `events`: a copy from PostgreSQL
    // sequences it first, so it is never copied.
    let listed: BTreeSet<String> = TABLES.iter().map(|t| t.name.to_owned()).collect();
    assert_eq!(listed, tables, "TABLES must list every table of the schema");

    for (position, table) in TABLES.iter().enumerate() {
        let columns: Vec<(String, String, bool)> = client
            .query(
                "SELECT column_name::TEXT, data_type::TEXT, is_identity = 'YES'
                 FROM information_schema.columns
                 WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
                &[&table.name],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        let expected: Vec<(String, String, bool)> = table
            .columns
            .iter()
            .map(|c| {
                let identity = table.counter == Some(c.name);
                (
                    c.name.to_owned(),
                    c.kind.postgres_type().to_owned(),
                    identity,
                )
            })
            .collect();
        assert_eq!(expected, columns, "the columns of {}", table.name);

        let key: Vec<String> = client
            .query(
                "SELECT k.column_name::TEXT
                 FROM information_schema.table_constraints c
                 JOIN information_schema.key_column_usage k
                   ON k.constraint_name = c.constraint_name AND k.table_name = c.table_name
                 WHERE c.table_schema = 'public' AND c.table_name = $1
                   AND c.constraint_type = 'PRIMARY KEY'
                 ORDER BY k.ordinal_position",
                &[&table.name],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(table.key, key, "the primary key of {}", table.name);

        let parents: Vec<String> = client
            .query(
                "SELECT DISTINCT confrelid::regclass::TEXT FROM pg_constraint
                 WHERE contype = 'f' AND conrelid = $1::TEXT::regclass",
                &[&table.name],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        for parent in parents {
            let at = TABLES.iter().position(|t| t.name == parent).unwrap();
            assert!(at < position, "{parent} must come before {}", table.name);
        }
    }
}
