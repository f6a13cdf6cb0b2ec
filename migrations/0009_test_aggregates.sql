CREATE TABLE `fingerprint_daily` (
	`organization_id` text NOT NULL,
	`project_id` text NOT NULL,
	`day` integer NOT NULL,
	`fingerprint` text NOT NULL,
	`occurrences` integer DEFAULT 0 NOT NULL,
	`runs` integer DEFAULT 0 NOT NULL,
	`first_seen_at` integer NOT NULL,
	`first_task_id` text NOT NULL,
	`last_seen_at` integer NOT NULL,
	`last_task_id` text NOT NULL,
	`prev_task_id` text,
	`prev_seen_at` integer,
	`recent_task_ids` text DEFAULT '[]' NOT NULL,
	`sample_message` text,
	PRIMARY KEY(`organization_id`, `project_id`, `day`, `fingerprint`)
);
--> statement-breakpoint
CREATE INDEX `fingerprint_daily_org_fingerprint` ON `fingerprint_daily` (`organization_id`,`fingerprint`,`day`);--> statement-breakpoint
CREATE TABLE `test_daily` (
	`organization_id` text NOT NULL,
	`project_id` text NOT NULL,
	`day` integer NOT NULL,
	`test_key` text NOT NULL,
	`title` text NOT NULL,
	`file` text,
	`runs` integer DEFAULT 0 NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`failures` integer DEFAULT 0 NOT NULL,
	`duration_sum` integer DEFAULT 0 NOT NULL,
	`duration_max` integer DEFAULT 0 NOT NULL,
	`last_failed_at` integer,
	`passed` integer DEFAULT 0 NOT NULL,
	`failed` integer DEFAULT 0 NOT NULL,
	`flaky` integer DEFAULT 0 NOT NULL,
	`first_outcome` text,
	`last_outcome` text,
	`flips` integer DEFAULT 0 NOT NULL,
	`last_run_at` integer,
	`last_flaky_task_id` text,
	`commits` text DEFAULT '{}' NOT NULL,
	`last_fingerprint` text,
	`last_task_id` text NOT NULL,
	`last_status` text NOT NULL,
	`last_at` integer NOT NULL,
	`prev_task_id` text,
	`prev_status` text,
	`prev_at` integer,
	PRIMARY KEY(`organization_id`, `project_id`, `day`, `test_key`)
);
--> statement-breakpoint
ALTER TABLE `executions` ADD `results_folded_at` integer;