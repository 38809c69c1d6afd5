-- Failed logins (issue 9): counted per username over a window so password guessing is slowed
-- on every node alike. Rows older than the window are removed as new failures arrive.
CREATE TABLE login_failures (
    username TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX login_failures_username ON login_failures (username, at);
