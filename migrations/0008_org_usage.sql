CREATE TABLE `org_usage` (
	`organization_id` text NOT NULL,
	`period_start` integer NOT NULL,
	`runs` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`organization_id`, `period_start`),
	FOREIGN KEY (`organization_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
-- The current month's platform runs so far, so the runs-per-month check carries on where COUNT left off.
INSERT INTO `org_usage` (`organization_id`, `period_start`, `runs`)
SELECT `organization_id`, CAST(strftime('%s', 'now', 'start of month') AS INTEGER) * 1000, count(*)
FROM `executions`
WHERE `source` = 'agnox-hosted' AND `created_at` >= CAST(strftime('%s', 'now', 'start of month') AS INTEGER) * 1000
GROUP BY `organization_id`;
