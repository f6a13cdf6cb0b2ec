-- Login lock per (email, client address), plus one all-address row per email (client = '*'), each counting
-- failures in a window; the old per-email rows carry over as that row. Recipient lookups for the invitation send limit.
CREATE TABLE `__new_login_attempts` (
	`email` text NOT NULL,
	`client` text NOT NULL,
	`failures` integer DEFAULT 0 NOT NULL,
	`window_started_at` integer NOT NULL,
	`locked_until` integer,
	`updated_at` integer DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)) NOT NULL,
	PRIMARY KEY(`email`, `client`)
);
--> statement-breakpoint
INSERT INTO `__new_login_attempts`("email", "client", "failures", "window_started_at", "locked_until", "updated_at") SELECT "email", '*', "failures", "updated_at", "locked_until", "updated_at" FROM `login_attempts`;--> statement-breakpoint
DROP TABLE `login_attempts`;--> statement-breakpoint
ALTER TABLE `__new_login_attempts` RENAME TO `login_attempts`;--> statement-breakpoint
CREATE INDEX `email_outbox_to` ON `email_outbox` (`to`,`created_at`);