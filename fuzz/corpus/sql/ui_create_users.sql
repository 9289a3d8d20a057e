-- The users of the chat application.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    handler VARCHAR(100)
);

CREATE INDEX idx_users_handler ON users(handler);
