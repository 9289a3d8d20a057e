-- Support tickets; a user may have several.
CREATE TABLE tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    subject TEXT NOT NULL
);

-- Open tickets first.
CREATE INDEX idx_tickets_user ON tickets(user, subject DESCC);
