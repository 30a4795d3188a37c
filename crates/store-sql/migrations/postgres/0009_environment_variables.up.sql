-- Each environment's variables, which every new session of it finds in its shell's
-- environment: plain values, and secrets sealed like every other secret (exactly one of
-- value and sealed_value is set). A counter on the environment grows with each change of
-- them, and each session keeps the one its tmux session started with, so that the sessions
-- still running with older values can be told.

CREATE TABLE environment_variables (
    environment_id UUID NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    position       BIGINT NOT NULL,
    value          TEXT,
    sealed_value   TEXT,
    CONSTRAINT environment_variables_one_value_check
        CHECK ((value IS NULL) <> (sealed_value IS NULL)),
    PRIMARY KEY (environment_id, name)
);

ALTER TABLE environments ADD COLUMN variables_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN variables_version BIGINT NOT NULL DEFAULT 0;
