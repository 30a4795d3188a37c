-- Each user's notification settings, one row per user that changed them: browser
-- notifications on or off, and a webhook URL sealed like every other secret.

CREATE TABLE notification_settings (
    user_id        UUID PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    browser        BOOLEAN NOT NULL DEFAULT FALSE,
    webhook_sealed TEXT,
    updated_at     TIMESTAMPTZ NOT NULL
);
