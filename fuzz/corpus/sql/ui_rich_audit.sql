-- Version 7 of pass_rich.toml: an audit log, and a trigger that writes to it
-- and resets verification whenever a user's e-mail changes.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    user_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    what TEXT NOT NULL CHECK (length(what) > 0)
);

CREATE INDEX idx_audit_log_user ON audit_log(user_id) WHERE user_id IS NOT NULL;

/* Two statements in the body; the literal holds ';' and '--'. */
CREATE TRIGGER users_email_audit AFTER UPDATE OF email ON users
WHEN old.email IS NOT new.email
BEGIN
    INSERT INTO audit_log (user_id, what) VALUES (new.id, 'email changed; was -- ' || old.email);
    UPDATE users SET profile = json_set(profile, '$.email_verified', json('false'))
     WHERE id = new.id;
END;

-- Exercise it once, so the proof runs the trigger too.
UPDATE users SET email = 'ann@example.net' WHERE id = 'u1';
