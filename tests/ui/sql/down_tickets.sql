-- The down of version 2 of down_file_error.toml: undo what it made,
-- newest first.
DROP INDEX idx_tickets_user;
ALTER TABLE users DROP COLUMN open_ticket;
DROP TABLE tickets;
