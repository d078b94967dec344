//! The store's conformance suite: what every backend promises, run unchanged against each.
//!
//! Every test is an `async fn(TestDb)` taking a store freshly opened on an empty database;
//! [`conformance!`] runs the listed tests against each listed backend (a module per backend).
//! A new backend is one more name in the backend list, plus its constructor on [`TestDb`].

#![allow(clippy::unwrap_used)]

mod accounts;
mod audit;
mod changes;
mod channels;
mod creation;
mod leases;
mod log;
mod outbox;
mod sequencer;
mod support;
mod tokens;

/// `conformance!([backend, …] [module::test, …])`: one `#[tokio::test]` per backend and test,
/// in a module named after the backend, each on a fresh database from `TestDb::<backend>()`
/// (which may be `None`: PostgreSQL outside CI without `HEYSUMMON_TEST_POSTGRES_URL`).
macro_rules! conformance {
    ([$($backend:ident),+ $(,)?] $tests:tt) => {
        $(conformance!(@backend $backend $tests);)+
    };
    (@backend $backend:ident [$($module:ident :: $test:ident),+ $(,)?]) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    if let Some(db) = crate::support::TestDb::$backend().await {
                        crate::$module::$test(db).await;
                    }
                }
            )+
        }
    };
}

conformance!(
    [sqlite, postgres]
    [
        creation::a_failing_write_rolls_back_alone_within_a_group_commit,
        creation::a_created_request_reads_back_by_id_ref_and_listing,
        creation::a_taken_ref_code_is_the_unique_violation_of_its_constraint,
        creation::an_idempotency_key_replays_the_first_response,
        creation::a_sealed_question_is_the_first_message,
        changes::apply_bumps_the_version_and_refuses_a_stale_one,
        changes::a_duplicate_message_id_changes_nothing,
        changes::apply_records_where_the_consumer_has_news,
        changes::the_expert_feed_lists_waiting_requests_until_delivered,
        changes::the_consumer_feed_lists_news_until_delivered,
        changes::due_for_expiry_lists_live_requests_past_their_expiry,
        changes::finished_requests_are_deleted_after_their_retention,
        log::events_after_pages_through_the_log_by_scope,
        log::pruning_the_log_records_how_far,
        log::subscribers_get_appended_events_in_order,
        log::a_reopened_store_starts_its_bus_at_the_end_of_the_log,
        log::catch_up_publishes_what_another_store_appended_in_order,
        log::catch_up_and_writes_together_publish_the_log_exactly_once,
        accounts::experts_and_tenants_read_back,
        accounts::a_taken_key_hash_is_a_unique_violation,
        accounts::a_client_key_for_an_unknown_expert_is_not_found,
        accounts::a_rotated_key_keeps_working_until_its_grace_ends,
        accounts::a_revoked_key_is_inactive,
        accounts::devices_enroll_once_and_only_first_when_asked,
        audit::appends_from_two_stores_form_one_linear_chain,
        audit::only_a_change_that_happened_is_recorded,
        audit::an_edited_row_breaks_the_chain,
        tokens::a_nonce_is_refused_when_replayed_and_replaced_once_expired,
        tokens::old_idempotency_records_are_pruned,
        leases::a_lease_has_one_holder_until_it_lapses_or_is_given_up,
        leases::shared_rate_windows_count_every_instance,
        channels::channels_read_back_and_take_everything_with_them,
        channels::connect_codes_link_chat_users_to_channels_once,
        channels::channels_count_inbound_actions_once_until_pruned,
        outbox::dispatch_announces_requests_to_the_active_channels_of_their_expert,
        outbox::updates_go_to_the_channels_where_announced_and_are_rearmed_once_delivered,
        outbox::reminders_go_to_the_channels_of_requests_still_waiting,
        outbox::channels_deliver_their_outbox_in_order_and_record_outcomes,
        outbox::instances_dispatching_to_channels_read_each_event_once,
    ]
);
