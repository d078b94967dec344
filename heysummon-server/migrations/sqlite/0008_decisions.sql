-- Decisions only the expert can make (PROTOCOL H4): the action an approval request asks about
-- (the JSON as sent; none for a sealed request, whose action is inside the sealed question) and
-- its hash (computed here, or given by the agent of a sealed request), and the expert's
-- signature over the decision with the time it signed.
ALTER TABLE requests ADD COLUMN action_json TEXT;
ALTER TABLE requests ADD COLUMN action_hash TEXT;
ALTER TABLE requests ADD COLUMN decision_signature TEXT;
ALTER TABLE requests ADD COLUMN decided_at INTEGER;
