-- Each user's notification settings, one row per user that changed them: browser
-- notifications on or off, and a webhook URL sealed like every other secret.

CREATE TABLE notification_settings (
    user_id        TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    browser        INTEGER NOT NULL DEFAULT 0 CHECK (browser IN (0, 1)),
    webhook_sealed TEXT,
    updated_at     TEXT NOT NULL
);
