CREATE TABLE `email_outbox` (
	`id` text PRIMARY KEY NOT NULL,
	`organization_id` text NOT NULL,
	`to` text NOT NULL,
	`subject` text NOT NULL,
	`text` text NOT NULL,
	`html` text,
	`provider` text NOT NULL,
	`status` text NOT NULL,
	`error` text,
	`created_at` integer DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)) NOT NULL,
	`sent_at` integer
);
--> statement-breakpoint
CREATE INDEX `email_outbox_org` ON `email_outbox` (`organization_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `notifications` (
	`id` text PRIMARY KEY NOT NULL,
	`organization_id` text NOT NULL,
	`task_id` text,
	`channel` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`error` text,
	`payload` text,
	`created_at` integer DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)) NOT NULL,
	`updated_at` integer DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `notifications_org` ON `notifications` (`organization_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `quarantines` (
	`id` text PRIMARY KEY NOT NULL,
	`organization_id` text NOT NULL,
	`project_id` text NOT NULL,
	`test_key` text NOT NULL,
	`title` text NOT NULL,
	`owner` text NOT NULL,
	`reason` text NOT NULL,
	`expires_at` integer NOT NULL,
	`created_by` text,
	`created_at` integer DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)) NOT NULL,
	FOREIGN KEY (`organization_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `quarantines_project_test` ON `quarantines` (`organization_id`,`project_id`,`test_key`);--> statement-breakpoint
CREATE INDEX `quarantines_org` ON `quarantines` (`organization_id`,`expires_at`);--> statement-breakpoint
ALTER TABLE `organizations` ADD `last_analysis_at` integer;--> statement-breakpoint
ALTER TABLE `test_results` ADD `fingerprint` text;--> statement-breakpoint
ALTER TABLE `test_results` ADD `project_id` text;--> statement-breakpoint
CREATE INDEX `test_results_org_fingerprint` ON `test_results` (`organization_id`,`fingerprint`,`created_at`);--> statement-breakpoint
CREATE INDEX `test_results_org_project` ON `test_results` (`organization_id`,`project_id`,`created_at`);