-- engagement (audiences) for target bigquery (bigquery)
-- Built into `analytics__tl_work`.`engagement__tl_build`, `analytics__tl_work`.`engagement__tl_history`, `analytics__tl_work`.`engagement__tl_report`, then swapped in by atomic replaces, the model last.

DROP TABLE IF EXISTS `analytics__tl_work`.`engagement__tl_build`;
DROP TABLE IF EXISTS `analytics__tl_work`.`engagement__tl_history`;
DROP TABLE IF EXISTS `analytics__tl_work`.`engagement__tl_report`;
DROP TABLE IF EXISTS `analytics__tl_work`.`engagement__tl_members`;

-- memberships
CREATE TABLE `analytics__tl_work`.`engagement__tl_members` AS
WITH `base` AS (
  SELECT b.`customer_id`, b.`email`
  FROM `raw`.`people` AS b
),
`e_0_last` AS (
  SELECT * FROM (
    SELECT ev.*, ROW_NUMBER() OVER (PARTITION BY ev.`customer_id` ORDER BY ev.`occurred_at` DESC, ev.`event_id` DESC NULLS LAST) AS `tideline_recency`
    FROM `raw`.`email_events` AS ev
    WHERE CAST(ev.`occurred_at` AS DATE) <= DATE '2026-06-30'
      AND ev.`event_type` = 'delivered'
  ) AS ev
  WHERE ev.`tideline_recency` <= 3
),
`e_0` AS (
  SELECT t.k, t.taken, COALESCE(j.n, 0) AS n
  FROM (SELECT ev.`customer_id` AS k, COUNT(*) AS taken FROM `e_0_last` AS ev GROUP BY ev.`customer_id`) AS t
  LEFT JOIN (
    SELECT ev.`customer_id` AS k, COUNT(*) AS n
    FROM `e_0_last` AS ev
    WHERE EXISTS (SELECT 1 FROM `raw`.`email_events` AS nx WHERE nx.`customer_id` = ev.`customer_id` AND CAST(nx.`occurred_at` AS TIMESTAMP) >= CAST(ev.`occurred_at` AS TIMESTAMP) AND CAST(CAST(nx.`occurred_at` AS TIMESTAMP) AS DATE) <= DATE '2026-06-30' AND nx.`campaign_id` = ev.`campaign_id` AND nx.`event_type` = 'opened' AND nx.`machine_open` = FALSE)
    GROUP BY ev.`customer_id`
  ) AS j ON j.k = t.k
),
`e_1_last` AS (
  SELECT * FROM (
    SELECT ev.*, ROW_NUMBER() OVER (PARTITION BY ev.`customer_id` ORDER BY ev.`occurred_at` DESC, ev.`event_id` DESC NULLS LAST) AS `tideline_recency`
    FROM `raw`.`email_events` AS ev
    WHERE CAST(ev.`occurred_at` AS DATE) <= DATE '2026-06-30'
      AND ev.`event_type` = 'delivered'
  ) AS ev
  WHERE ev.`tideline_recency` <= 3
),
`e_1` AS (
  SELECT t.k, t.taken, COALESCE(j.n, 0) AS n
  FROM (SELECT ev.`customer_id` AS k, COUNT(*) AS taken FROM `e_1_last` AS ev GROUP BY ev.`customer_id`) AS t
  LEFT JOIN (
    SELECT ev.`customer_id` AS k, COUNT(*) AS n
    FROM `e_1_last` AS ev
    WHERE EXISTS (SELECT 1 FROM `raw`.`email_events` AS nx WHERE nx.`customer_id` = ev.`customer_id` AND CAST(nx.`occurred_at` AS TIMESTAMP) >= CAST(ev.`occurred_at` AS TIMESTAMP) AND CAST(CAST(nx.`occurred_at` AS TIMESTAMP) AS DATE) <= DATE '2026-06-30' AND nx.`campaign_id` = ev.`campaign_id` AND nx.`event_type` = 'opened' AND nx.`machine_open` = FALSE)
    GROUP BY ev.`customer_id`
  ) AS j ON j.k = t.k
),
`e_2_last` AS (
  SELECT * FROM (
    SELECT ev.*, RANK() OVER (PARTITION BY ev.`customer_id` ORDER BY ev.`occurred_at` DESC) AS `tideline_recency`
    FROM `raw`.`email_events` AS ev
    WHERE CAST(ev.`occurred_at` AS DATE) <= DATE '2026-06-30'
      AND ev.`event_type` = 'delivered'
  ) AS ev
  WHERE ev.`tideline_recency` <= 3
),
`e_2` AS (
  SELECT t.k, t.taken, COALESCE(j.n, 0) AS n
  FROM (SELECT ev.`customer_id` AS k, COUNT(*) AS taken FROM `e_2_last` AS ev GROUP BY ev.`customer_id`) AS t
  LEFT JOIN (
    SELECT ev.`customer_id` AS k, COUNT(*) AS n
    FROM `e_2_last` AS ev
    WHERE EXISTS (SELECT 1 FROM `raw`.`email_events` AS nx WHERE nx.`customer_id` = ev.`customer_id` AND CAST(nx.`occurred_at` AS TIMESTAMP) >= CAST(ev.`occurred_at` AS TIMESTAMP) AND CAST(CAST(nx.`occurred_at` AS TIMESTAMP) AS DATE) <= DATE '2026-06-30' AND nx.`campaign_id` = ev.`campaign_id` AND nx.`event_type` = 'opened' AND nx.`machine_open` = FALSE)
    GROUP BY ev.`customer_id`
  ) AS j ON j.k = t.k
),
`e_3_n_last` AS (
  SELECT * FROM (
    SELECT ev.*, ROW_NUMBER() OVER (PARTITION BY ev.`customer_id` ORDER BY ev.`occurred_at` DESC, ev.`event_id` DESC NULLS LAST) AS `tideline_recency`
    FROM `raw`.`email_events` AS ev
    WHERE CAST(ev.`occurred_at` AS DATE) <= DATE '2026-06-30'
      AND ev.`event_type` = 'delivered'
  ) AS ev
  WHERE ev.`tideline_recency` <= 3
),
`e_3_n` AS (
  SELECT t.k, t.taken, COALESCE(j.n, 0) AS n
  FROM (SELECT ev.`customer_id` AS k, COUNT(*) AS taken FROM `e_3_n_last` AS ev GROUP BY ev.`customer_id`) AS t
  LEFT JOIN (
    SELECT ev.`customer_id` AS k, COUNT(*) AS n
    FROM `e_3_n_last` AS ev
    WHERE EXISTS (SELECT 1 FROM `raw`.`email_events` AS nx WHERE nx.`customer_id` = ev.`customer_id` AND CAST(nx.`occurred_at` AS TIMESTAMP) >= CAST(ev.`occurred_at` AS TIMESTAMP) AND CAST(CAST(nx.`occurred_at` AS TIMESTAMP) AS DATE) <= DATE '2026-06-30' AND nx.`campaign_id` = ev.`campaign_id` AND nx.`event_type` = 'opened' AND nx.`machine_open` = FALSE)
    GROUP BY ev.`customer_id`
  ) AS j ON j.k = t.k
),
`e_4_last` AS (
  SELECT * FROM (
    SELECT ev.*, ROW_NUMBER() OVER (PARTITION BY ev.`customer_id` ORDER BY ev.`occurred_at` DESC, ev.`event_id` DESC NULLS LAST) AS `tideline_recency`
    FROM `raw`.`email_events` AS ev
    WHERE CAST(ev.`occurred_at` AS DATE) <= DATE '2026-06-30'
      AND ev.`event_type` = 'delivered'
  ) AS ev
  WHERE ev.`tideline_recency` <= 3
),
`e_4` AS (
  SELECT t.k, t.taken, COALESCE(j.n, 0) AS n
  FROM (SELECT ev.`customer_id` AS k, COUNT(*) AS taken FROM `e_4_last` AS ev GROUP BY ev.`customer_id`) AS t
  LEFT JOIN (
    SELECT ev.`customer_id` AS k, COUNT(*) AS n
    FROM `e_4_last` AS ev
    WHERE EXISTS (SELECT 1 FROM `raw`.`email_events` AS nx WHERE nx.`customer_id` = ev.`customer_id` AND CAST(nx.`occurred_at` AS TIMESTAMP) >= CAST(ev.`occurred_at` AS TIMESTAMP) AND CAST(CAST(nx.`occurred_at` AS TIMESTAMP) AS DATE) <= DATE '2026-06-30' AND nx.`campaign_id` = ev.`campaign_id` AND nx.`event_type` = 'opened' AND nx.`machine_open` = FALSE)
    GROUP BY ev.`customer_id`
  ) AS j ON j.k = t.k
),
`e_5_last` AS (
  SELECT * FROM (
    SELECT ev.*, ROW_NUMBER() OVER (PARTITION BY ev.`customer_id` ORDER BY ev.`occurred_at` DESC, ev.`event_id` DESC NULLS LAST) AS `tideline_recency`
    FROM `raw`.`email_events` AS ev
    WHERE CAST(ev.`occurred_at` AS DATE) <= DATE '2026-06-30'
      AND CAST(ev.`occurred_at` AS DATE) > DATE_ADD(DATE '2026-06-30', INTERVAL -21 DAY)
      AND ev.`event_type` = 'delivered'
  ) AS ev
  WHERE ev.`tideline_recency` <= 3
),
`e_5` AS (
  SELECT t.k, t.taken, COALESCE(j.n, 0) AS n
  FROM (SELECT ev.`customer_id` AS k, COUNT(*) AS taken FROM `e_5_last` AS ev GROUP BY ev.`customer_id`) AS t
  LEFT JOIN (
    SELECT ev.`customer_id` AS k, COUNT(*) AS n
    FROM `e_5_last` AS ev
    WHERE NOT EXISTS (SELECT 1 FROM `raw`.`email_events` AS nx WHERE nx.`customer_id` = ev.`customer_id` AND CAST(nx.`occurred_at` AS TIMESTAMP) >= CAST(ev.`occurred_at` AS TIMESTAMP) AND CAST(CAST(nx.`occurred_at` AS TIMESTAMP) AS DATE) <= DATE '2026-06-30' AND nx.`campaign_id` = ev.`campaign_id` AND nx.`event_type` = 'opened' AND nx.`machine_open` = FALSE)
    GROUP BY ev.`customer_id`
  ) AS j ON j.k = t.k
),
`e_6` AS (
  SELECT ev.`customer_id` AS k, COUNT(*) AS n
  FROM `raw`.`email_events` AS ev
  WHERE CAST(ev.`occurred_at` AS DATE) <= DATE '2026-06-30'
    AND CAST(ev.`occurred_at` AS DATE) > DATE_ADD(DATE '2026-06-30', INTERVAL -30 DAY)
    AND ev.`event_type` = 'delivered'
  GROUP BY ev.`customer_id`
),
`e_7` AS (
  SELECT ev.`customer_id` AS k, COUNT(DISTINCT ev.`campaign_id`) AS n
  FROM `raw`.`email_events` AS ev
  WHERE CAST(ev.`occurred_at` AS DATE) <= DATE '2026-06-30'
    AND CAST(ev.`occurred_at` AS DATE) > DATE_ADD(DATE '2026-06-30', INTERVAL -30 DAY)
    AND ev.`event_type` = 'opened'
    AND ev.`machine_open` = FALSE
  GROUP BY ev.`customer_id`
),
`a_0` AS (
  SELECT DISTINCT u.k FROM (
    SELECT base.`customer_id` AS k FROM `base` AS base
    LEFT JOIN `e_0` ON `e_0`.k = base.`customer_id`
    WHERE (COALESCE(`e_0`.taken, 0) >= 3 AND COALESCE(`e_0`.n, 0) = 0)
  ) AS u
  WHERE u.k IS NOT NULL
),
`a_1` AS (
  SELECT DISTINCT u.k FROM (
    SELECT base.`customer_id` AS k FROM `base` AS base
    LEFT JOIN `e_1` ON `e_1`.k = base.`customer_id`
    WHERE COALESCE(`e_1`.n, 0) = 0
  ) AS u
  WHERE u.k IS NOT NULL
),
`a_2` AS (
  SELECT DISTINCT u.k FROM (
    SELECT base.`customer_id` AS k FROM `base` AS base
    LEFT JOIN `e_2` ON `e_2`.k = base.`customer_id`
    WHERE (COALESCE(`e_2`.taken, 0) >= 3 AND COALESCE(`e_2`.n, 0) = 0)
  ) AS u
  WHERE u.k IS NOT NULL
),
`a_3` AS (
  SELECT DISTINCT u.k FROM (
    SELECT base.`customer_id` AS k FROM `base` AS base
    LEFT JOIN `e_3_n` ON `e_3_n`.k = base.`customer_id`
    WHERE NOT (COALESCE(`e_3_n`.taken, 0) >= 3 AND COALESCE(`e_3_n`.n, 0) = 0)
  ) AS u
  WHERE u.k IS NOT NULL
),
`a_4` AS (
  SELECT DISTINCT u.k FROM (
    SELECT base.`customer_id` AS k FROM `base` AS base
    LEFT JOIN `e_4` ON `e_4`.k = base.`customer_id`
    WHERE (COALESCE(`e_4`.taken, 0) >= 3 AND COALESCE(`e_4`.n, 0) >= 2)
  ) AS u
  WHERE u.k IS NOT NULL
),
`a_5` AS (
  SELECT DISTINCT u.k FROM (
    SELECT base.`customer_id` AS k FROM `base` AS base
    LEFT JOIN `e_5` ON `e_5`.k = base.`customer_id`
    WHERE (COALESCE(`e_5`.taken, 0) >= 3 AND COALESCE(`e_5`.n, 0) >= 1)
  ) AS u
  WHERE u.k IS NOT NULL
),
`a_6` AS (
  SELECT DISTINCT u.k FROM (
    SELECT base.`customer_id` AS k FROM `base` AS base
    LEFT JOIN `e_6` ON `e_6`.k = base.`customer_id`
    WHERE (COALESCE(`e_6`.n, 0) >= 2 AND COALESCE(`e_6`.n, 0) <= 3)
  ) AS u
  WHERE u.k IS NOT NULL
),
`a_7` AS (
  SELECT DISTINCT u.k FROM (
    SELECT base.`customer_id` AS k FROM `base` AS base
    LEFT JOIN `e_7` ON `e_7`.k = base.`customer_id`
    WHERE COALESCE(`e_7`.n, 0) >= 2
  ) AS u
  WHERE u.k IS NOT NULL
),
`eligible` AS (
  SELECT 'non_openers' AS audience, 'ads' AS channel, 0 AS priority, FALSE AS exempt, k FROM `a_0`
  UNION ALL
  SELECT 'non_openers_or_fewer' AS audience, 'ads' AS channel, 0 AS priority, FALSE AS exempt, k FROM `a_1`
  UNION ALL
  SELECT 'non_openers_no_id' AS audience, 'ads' AS channel, 0 AS priority, FALSE AS exempt, k FROM `a_2`
  UNION ALL
  SELECT 'not_non_openers' AS audience, 'ads' AS channel, 0 AS priority, FALSE AS exempt, k FROM `a_3`
  UNION ALL
  SELECT 'regular_openers' AS audience, 'ads' AS channel, 0 AS priority, FALSE AS exempt, k FROM `a_4`
  UNION ALL
  SELECT 'some_unopened_recently' AS audience, 'ads' AS channel, 0 AS priority, FALSE AS exempt, k FROM `a_5`
  UNION ALL
  SELECT 'two_to_three_deliveries' AS audience, 'ads' AS channel, 0 AS priority, FALSE AS exempt, k FROM `a_6`
  UNION ALL
  SELECT 'opened_two_campaigns' AS audience, 'ads' AS channel, 0 AS priority, FALSE AS exempt, k FROM `a_7`
),
`judged` AS (
  SELECT e.audience, e.channel, e.priority, e.exempt, e.k, CASE e.audience
    WHEN 'non_openers' THEN TRUE
    WHEN 'non_openers_or_fewer' THEN TRUE
    WHEN 'non_openers_no_id' THEN TRUE
    WHEN 'not_non_openers' THEN TRUE
    WHEN 'regular_openers' THEN TRUE
    WHEN 'some_unopened_recently' THEN TRUE
    WHEN 'two_to_three_deliveries' THEN TRUE
    WHEN 'opened_two_campaigns' THEN TRUE
  END AS consented, FALSE AS suppressed
  FROM `eligible` AS e JOIN `base` AS base ON base.`customer_id` = e.k
),
`ranked` AS (
  SELECT j.*,
    ROW_NUMBER() OVER (PARTITION BY j.k, j.channel, j.consented, j.exempt, j.suppressed ORDER BY j.priority DESC, j.audience) AS pressure_rank,
    MOD(CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5(CAST(j.k AS STRING) || '|' || j.audience || '|' || 'tideline')), 1, 8)) AS INT64), 10000) AS bucket
  FROM `judged` AS j
)
SELECT
  r.audience AS `audience`,
  CASE WHEN r.suppressed THEN 'suppressed' WHEN NOT r.consented THEN 'no_consent' ELSE 'member' END AS `audience_status`,
  'treatment' AS `audience_group`,
  r.channel AS `audience_channel`,
  r.priority AS `audience_priority`,
  CAST(NULL AS STRING) AS `audience_capped_by`,
  base.*
FROM `ranked` AS r
JOIN `base` AS base ON base.`customer_id` = r.k;

-- "history": :run_time below stands for the time the build reaches this step (UTC)

  -- membership history, when the previous build left `analytics`.`engagement_history` (the build fails if it lacks any of audience, customer_id, audience_group, entered_at, exited_at):
  CREATE TABLE `analytics__tl_work`.`engagement__tl_history` AS
  SELECT p.audience, p.`customer_id`, p.audience_group, p.entered_at, p.exited_at FROM `analytics`.`engagement_history` AS p WHERE p.exited_at IS NOT NULL
  UNION ALL
  SELECT p.audience, p.`customer_id`, p.audience_group, p.entered_at, CAST(NULL AS TIMESTAMP) FROM `analytics`.`engagement_history` AS p WHERE p.exited_at IS NULL AND EXISTS (SELECT 1 FROM `analytics__tl_work`.`engagement__tl_members` AS m WHERE m.audience = p.audience AND m.`customer_id` = p.`customer_id` AND m.audience_status = 'member')
  UNION ALL
  SELECT p.audience, p.`customer_id`, p.audience_group, p.entered_at, :run_time FROM `analytics`.`engagement_history` AS p WHERE p.exited_at IS NULL AND NOT EXISTS (SELECT 1 FROM `analytics__tl_work`.`engagement__tl_members` AS m WHERE m.audience = p.audience AND m.`customer_id` = p.`customer_id` AND m.audience_status = 'member')
  UNION ALL
  SELECT m.audience, m.`customer_id`, m.audience_group, :run_time AS entered_at, CAST(NULL AS TIMESTAMP) AS exited_at
  FROM `analytics__tl_work`.`engagement__tl_members` AS m
  WHERE m.audience_status = 'member'
    AND NOT EXISTS (SELECT 1 FROM `analytics`.`engagement_history` AS p WHERE p.exited_at IS NULL AND p.audience = m.audience AND p.`customer_id` = m.`customer_id`);

  -- membership history, on the first build or a full refresh:
  CREATE TABLE `analytics__tl_work`.`engagement__tl_history` AS
  SELECT m.audience, m.`customer_id`, m.audience_group, :run_time AS entered_at, CAST(NULL AS TIMESTAMP) AS exited_at
  FROM `analytics__tl_work`.`engagement__tl_members` AS m
  WHERE m.audience_status = 'member';

  -- memberships with the time each member entered
  CREATE TABLE `analytics__tl_work`.`engagement__tl_build` AS
  SELECT m.`audience`, m.`audience_status`, m.`audience_group`, m.`audience_channel`, m.`audience_priority`, m.`audience_capped_by`, h.entered_at AS `audience_entered_at`, m.`customer_id`, m.`email`
  FROM `analytics__tl_work`.`engagement__tl_members` AS m
  LEFT JOIN `analytics__tl_work`.`engagement__tl_history` AS h ON h.audience = m.audience AND h.`customer_id` = m.`customer_id` AND h.exited_at IS NULL;

  -- sizes and moves of this run
  CREATE TABLE `analytics__tl_work`.`engagement__tl_report` AS
  WITH names AS (
    SELECT 'non_openers' AS audience, 'ads' AS channel
    UNION ALL SELECT 'non_openers_or_fewer' AS audience, 'ads' AS channel
    UNION ALL SELECT 'non_openers_no_id' AS audience, 'ads' AS channel
    UNION ALL SELECT 'not_non_openers' AS audience, 'ads' AS channel
    UNION ALL SELECT 'regular_openers' AS audience, 'ads' AS channel
    UNION ALL SELECT 'some_unopened_recently' AS audience, 'ads' AS channel
    UNION ALL SELECT 'two_to_three_deliveries' AS audience, 'ads' AS channel
    UNION ALL SELECT 'opened_two_campaigns' AS audience, 'ads' AS channel
  ),
  sizes AS (
    SELECT audience,
      SUM(CASE WHEN audience_status = 'member' THEN 1 ELSE 0 END) AS members,
      SUM(CASE WHEN audience_status = 'member' AND audience_group = 'holdout' THEN 1 ELSE 0 END) AS holdout,
      SUM(CASE WHEN audience_status = 'no_consent' THEN 1 ELSE 0 END) AS no_consent,
      SUM(CASE WHEN audience_status = 'capped' THEN 1 ELSE 0 END) AS capped,
      SUM(CASE WHEN audience_status = 'suppressed' THEN 1 ELSE 0 END) AS suppressed
    FROM `analytics__tl_work`.`engagement__tl_members` GROUP BY audience
  ),
  moves AS (
    SELECT audience, SUM(CASE WHEN entered_at = :run_time THEN 1 ELSE 0 END) AS entered, SUM(CASE WHEN exited_at = :run_time THEN 1 ELSE 0 END) AS exited
    FROM `analytics__tl_work`.`engagement__tl_history` GROUP BY audience
  )
  SELECT n.audience, n.channel, :run_time AS built_at,
    COALESCE(s.members, 0) AS members, COALESCE(s.holdout, 0) AS holdout, COALESCE(s.no_consent, 0) AS no_consent,
    COALESCE(s.capped, 0) AS capped, COALESCE(s.suppressed, 0) AS suppressed, COALESCE(v.entered, 0) AS entered, COALESCE(v.exited, 0) AS exited
  FROM names AS n
  LEFT JOIN sizes AS s ON s.audience = n.audience
  LEFT JOIN moves AS v ON v.audience = n.audience;

-- end "history"

-- swap in
CREATE OR REPLACE TABLE `analytics`.`engagement_history` COPY `analytics__tl_work`.`engagement__tl_history`;
DROP TABLE IF EXISTS `analytics__tl_work`.`engagement__tl_history`;
CREATE OR REPLACE TABLE `analytics`.`engagement_report` COPY `analytics__tl_work`.`engagement__tl_report`;
DROP TABLE IF EXISTS `analytics__tl_work`.`engagement__tl_report`;
CREATE OR REPLACE TABLE `analytics`.`engagement` COPY `analytics__tl_work`.`engagement__tl_build`;
DROP TABLE IF EXISTS `analytics__tl_work`.`engagement__tl_build`;

-- clean up
DROP TABLE IF EXISTS `analytics__tl_work`.`engagement__tl_members`;
