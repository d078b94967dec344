-- Retention of finished requests: found by when their status last changed.
CREATE INDEX requests_status_changed ON requests(status_changed_at);
