-- campaigns (audiences) for target bigquery (bigquery)
-- Built into `analytics__tl_work`.`campaigns__tl_build`, `analytics__tl_work`.`campaigns__tl_history`, `analytics__tl_work`.`campaigns__tl_report`, then swapped in by atomic replaces, the model last.

DROP TABLE IF EXISTS `analytics__tl_work`.`campaigns__tl_build`;
DROP TABLE IF EXISTS `analytics__tl_work`.`campaigns__tl_history`;
DROP TABLE IF EXISTS `analytics__tl_work`.`campaigns__tl_report`;
DROP TABLE IF EXISTS `analytics__tl_work`.`campaigns__tl_members`;
DROP TABLE IF EXISTS `analytics__tl_work`.`campaigns__tl_current`;

-- current members, whom marketing pressure never drops, when the previous build left `analytics`.`campaigns_history` (the build fails if it lacks any of audience, customer_id, audience_group, entered_at, exited_at):
CREATE TABLE `analytics__tl_work`.`campaigns__tl_current` AS
SELECT h.audience, h.`customer_id`, h.audience_group, h.entered_at FROM `analytics`.`campaigns_history` AS h WHERE h.exited_at IS NULL;

-- current members, whom marketing pressure never drops, on the first build or a full refresh:
CREATE TABLE `analytics__tl_work`.`campaigns__tl_current` AS
SELECT CAST(NULL AS STRING) AS audience, b.`customer_id`, CAST(NULL AS STRING) AS audience_group, CAST(NULL AS TIMESTAMP) AS entered_at FROM `raw`.`customers` AS b WHERE 1 = 0;

-- memberships
CREATE TABLE `analytics__tl_work`.`campaigns__tl_members` AS
WITH `base` AS (
  SELECT b.`customer_id`, b.`consent_email`, b.`consent_sms`, b.`consent_ads`, b.`q_flash_sale`, b.`q_restock`, b.`q_newsletter`, b.`q_receipt`, b.`q_sms_promo`, b.`q_blocklist`, b.`q_winback`, b.`q_ads_retarget`
  FROM `raw`.`customers` AS b
),
`a_0` AS (
  SELECT DISTINCT u.k FROM (
    SELECT base.`customer_id` AS k FROM `base` AS base
    WHERE COALESCE(base.`q_flash_sale` = TRUE, FALSE)
  ) AS u
  WHERE u.k IS NOT NULL
),
`a_1` AS (
  SELECT DISTINCT u.k FROM (
    SELECT base.`customer_id` AS k FROM `base` AS base
    WHERE COALESCE(base.`q_restock` = TRUE, FALSE)
  ) AS u
  WHERE u.k IS NOT NULL
),
`a_2` AS (
  SELECT DISTINCT u.k FROM (
    SELECT base.`customer_id` AS k FROM `base` AS base
    WHERE COALESCE(base.`q_newsletter` = TRUE, FALSE)
  ) AS u
  WHERE u.k IS NOT NULL
),
`a_3` AS (
  SELECT DISTINCT u.k FROM (
    SELECT base.`customer_id` AS k FROM `base` AS base
    WHERE COALESCE(base.`q_receipt` = TRUE, FALSE)
  ) AS u
  WHERE u.k IS NOT NULL
),
`a_4` AS (
  SELECT DISTINCT u.k FROM (
    SELECT base.`customer_id` AS k FROM `base` AS base
    WHERE COALESCE(base.`q_sms_promo` = TRUE, FALSE)
  ) AS u
  WHERE u.k IS NOT NULL
),
`a_5` AS (
  SELECT DISTINCT u.k FROM (
    SELECT base.`customer_id` AS k FROM `base` AS base
    WHERE COALESCE(base.`q_blocklist` = TRUE, FALSE)
  ) AS u
  WHERE u.k IS NOT NULL
),
`eligible` AS (
  SELECT 'flash_sale' AS audience, 'email' AS channel, 5 AS priority, FALSE AS exempt, k FROM `a_0`
  UNION ALL
  SELECT 'restock' AS audience, 'email' AS channel, 4 AS priority, FALSE AS exempt, k FROM `a_1`
  UNION ALL
  SELECT 'newsletter' AS audience, 'email' AS channel, 3 AS priority, FALSE AS exempt, k FROM `a_2`
  UNION ALL
  SELECT 'receipt' AS audience, 'email' AS channel, 9 AS priority, FALSE AS exempt, k FROM `a_3`
  UNION ALL
  SELECT 'sms_promo' AS audience, 'sms' AS channel, 4 AS priority, FALSE AS exempt, k FROM `a_4`
  UNION ALL
  SELECT 'blocklist' AS audience, 'email' AS channel, 0 AS priority, TRUE AS exempt, k FROM `a_5`
),
`judged` AS (
  SELECT e.audience, e.channel, e.priority, e.exempt, e.k, CASE e.audience
    WHEN 'flash_sale' THEN COALESCE(base.`consent_email`, FALSE)
    WHEN 'restock' THEN COALESCE(base.`consent_email`, FALSE)
    WHEN 'newsletter' THEN COALESCE(base.`consent_email`, FALSE)
    WHEN 'receipt' THEN COALESCE(base.`consent_email`, FALSE)
    WHEN 'sms_promo' THEN COALESCE(base.`consent_sms`, FALSE)
    WHEN 'blocklist' THEN TRUE
  END AS consented, FALSE AS suppressed
  FROM `eligible` AS e JOIN `base` AS base ON base.`customer_id` = e.k
),
`ranked` AS (
  SELECT j.*,
    ROW_NUMBER() OVER (PARTITION BY j.k, j.channel, j.consented, j.exempt, j.suppressed ORDER BY j.priority DESC, j.audience) AS pressure_rank,
    MOD(CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5(CAST(j.k AS STRING) || '|' || j.audience || '|' || 'tideline')), 1, 8)) AS INT64), 10000) AS bucket
  FROM `judged` AS j
),
`pressure_previous` AS (
  SELECT DISTINCT p.audience, p.`customer_id` AS k FROM `analytics__tl_work`.`campaigns__tl_current` AS p
),
`pressure_messages` AS (
SELECT k, channel, message_type, day, source, model, 'sent' AS origin FROM (
  SELECT DISTINCT s.`contact_key` AS k, s.`channel` AS channel, s.`message_type` AS message_type, CAST(s.`sent_at` AS DATE) AS day,
    COALESCE(s.`audience`, s.`sync_name`) AS source, s.`model` AS model, CASE WHEN s.`audience` IS NULL THEN s.`record_key` END AS item
  FROM `tideline_state`.`sync_messages` AS s
  WHERE CAST(s.`sent_at` AS DATE) > DATE_ADD(DATE '2026-06-30', INTERVAL -30 DAY)
) AS sent
UNION ALL
SELECT CAST(e.`customer_id` AS STRING), 'email', 'promotional', CAST(e.`occurred_at` AS DATE), 'email_log', CAST(NULL AS STRING), 'delivered'
  FROM `analytics`.`email_log` AS e
  WHERE CAST(e.`occurred_at` AS DATE) > DATE_ADD(DATE '2026-06-30', INTERVAL -30 DAY) AND CAST(e.`customer_id` AS STRING) IS NOT NULL AND e.`event_type` = 'delivered'
UNION ALL
SELECT CAST(p.`customer_id` AS STRING), CASE p.audience WHEN 'flash_sale' THEN 'email' END, CASE p.audience WHEN 'flash_sale' THEN 'promotional' END, DATE '2026-06-30', p.audience, 'campaigns', 'pending'
  FROM `analytics__tl_work`.`campaigns__tl_current` AS p
  WHERE p.audience IN ('flash_sale') AND p.audience_group <> 'holdout' AND NOT EXISTS (SELECT 1 FROM `tideline_state`.`sync_messages` AS s WHERE s.`model` = 'campaigns' AND s.`audience` = p.audience AND s.`contact_key` = CAST(p.`customer_id` AS STRING) AND s.`sent_at` >= p.entered_at) AND NOT COALESCE(p.entered_at <= CASE p.audience WHEN 'flash_sale' THEN (SELECT MAX(r.`started_at`) FROM `tideline_state`.`sync_runs` AS r WHERE r.`sync_name` IN ('flash_list') AND r.`finished_at` IS NOT NULL) END, FALSE)
),
`pressure_used` AS (
  SELECT m.k, SUM(CASE WHEN m.channel IN ('email') AND m.day > DATE_ADD(DATE '2026-06-30', INTERVAL -7 DAY) THEN CASE m.message_type WHEN 'newsletter' THEN 500 WHEN 'transactional' THEN 0 ELSE 1000 END ELSE 0 END) AS `u_0`, SUM(CASE WHEN TRUE AND m.day > DATE_ADD(DATE '2026-06-30', INTERVAL -30 DAY) THEN CASE m.message_type WHEN 'newsletter' THEN 500 WHEN 'transactional' THEN 0 ELSE 1000 END ELSE 0 END) AS `u_1`
  FROM `pressure_messages` AS m
  GROUP BY m.k
),
`pressure_candidates` AS (
  SELECT r.k, MAX(CASE WHEN r.audience = 'flash_sale' THEN 1 ELSE 0 END) AS `q_0`, MAX(CASE WHEN r.audience = 'restock' THEN 1 ELSE 0 END) AS `q_1`, MAX(CASE WHEN r.audience = 'sms_promo' THEN 1 ELSE 0 END) AS `q_2`, MAX(CASE WHEN r.audience = 'newsletter' THEN 1 ELSE 0 END) AS `q_3`
  FROM `ranked` AS r
  WHERE r.consented AND NOT r.suppressed AND NOT (FALSE) AND r.audience IN ('flash_sale', 'restock', 'sms_promo', 'newsletter') AND NOT EXISTS (SELECT 1 FROM `pressure_previous` AS p WHERE p.audience = r.audience AND p.k = r.k)
  GROUP BY r.k
),
`pressure_0` AS (
  SELECT q.*, COALESCE(u.`u_0`, 0) AS `t_0_0`, COALESCE(u.`u_1`, 0) AS `t_1_0`
  FROM `pressure_candidates` AS q
  LEFT JOIN `pressure_used` AS u ON u.k = CAST(q.k AS STRING)
),
`pressure_1` AS (
  SELECT p.*, CASE WHEN p.`q_0` >= 1 AND p.`t_0_0` + 1000 <= 2000 AND p.`t_1_0` + 1000 <= 3000 THEN 1 ELSE 0 END AS `ok_0`, CASE WHEN p.`q_0` >= 1 AND NOT (p.`q_0` >= 1 AND p.`t_0_0` + 1000 <= 2000 AND p.`t_1_0` + 1000 <= 3000) THEN CASE WHEN NOT (p.`t_0_0` + 1000 <= 2000) THEN 0 WHEN NOT (p.`t_1_0` + 1000 <= 3000) THEN 1 END END AS `by_0`, p.`t_0_0` + CASE WHEN p.`q_0` >= 1 AND p.`t_0_0` + 1000 <= 2000 AND p.`t_1_0` + 1000 <= 3000 AND p.`q_0` = 1 THEN 1000 ELSE 0 END AS `t_0_1`, p.`t_1_0` + CASE WHEN p.`q_0` >= 1 AND p.`t_0_0` + 1000 <= 2000 AND p.`t_1_0` + 1000 <= 3000 AND p.`q_0` = 1 THEN 1000 ELSE 0 END AS `t_1_1`
  FROM `pressure_0` AS p
),
`pressure_2` AS (
  SELECT p.*, CASE WHEN p.`q_1` >= 1 AND p.`t_0_1` + 1000 <= 2000 AND p.`t_1_1` + 1000 <= 3000 THEN 1 ELSE 0 END AS `ok_1`, CASE WHEN p.`q_1` >= 1 AND NOT (p.`q_1` >= 1 AND p.`t_0_1` + 1000 <= 2000 AND p.`t_1_1` + 1000 <= 3000) THEN CASE WHEN NOT (p.`t_0_1` + 1000 <= 2000) THEN 0 WHEN NOT (p.`t_1_1` + 1000 <= 3000) THEN 1 END END AS `by_1`, p.`t_0_1` + CASE WHEN p.`q_1` >= 1 AND p.`t_0_1` + 1000 <= 2000 AND p.`t_1_1` + 1000 <= 3000 AND p.`q_1` = 1 THEN 1000 ELSE 0 END AS `t_0_2`, p.`t_1_1` + CASE WHEN p.`q_1` >= 1 AND p.`t_0_1` + 1000 <= 2000 AND p.`t_1_1` + 1000 <= 3000 AND p.`q_1` = 1 THEN 1000 ELSE 0 END AS `t_1_2`
  FROM `pressure_1` AS p
),
`pressure_3` AS (
  SELECT p.*, CASE WHEN p.`q_2` >= 1 AND p.`t_1_2` + 1000 <= 3000 THEN 1 ELSE 0 END AS `ok_2`, CASE WHEN p.`q_2` >= 1 AND NOT (p.`q_2` >= 1 AND p.`t_1_2` + 1000 <= 3000) THEN CASE WHEN NOT (p.`t_1_2` + 1000 <= 3000) THEN 1 END END AS `by_2`, p.`t_1_2` + CASE WHEN p.`q_2` >= 1 AND p.`t_1_2` + 1000 <= 3000 AND p.`q_2` = 1 THEN 1000 ELSE 0 END AS `t_1_3`
  FROM `pressure_2` AS p
),
`pressure_4` AS (
  SELECT p.*, CASE WHEN p.`q_3` >= 1 AND p.`t_0_2` + 500 <= 2000 AND p.`t_1_3` + 500 <= 3000 THEN 1 ELSE 0 END AS `ok_3`, CASE WHEN p.`q_3` >= 1 AND NOT (p.`q_3` >= 1 AND p.`t_0_2` + 500 <= 2000 AND p.`t_1_3` + 500 <= 3000) THEN CASE WHEN NOT (p.`t_0_2` + 500 <= 2000) THEN 0 WHEN NOT (p.`t_1_3` + 500 <= 3000) THEN 1 END END AS `by_3`, p.`t_0_2` + CASE WHEN p.`q_3` >= 1 AND p.`t_0_2` + 500 <= 2000 AND p.`t_1_3` + 500 <= 3000 AND p.`q_3` = 1 THEN 500 ELSE 0 END AS `t_0_4`, p.`t_1_3` + CASE WHEN p.`q_3` >= 1 AND p.`t_0_2` + 500 <= 2000 AND p.`t_1_3` + 500 <= 3000 AND p.`q_3` = 1 THEN 500 ELSE 0 END AS `t_1_4`
  FROM `pressure_3` AS p
),
`pressure_verdicts` AS (
  SELECT f.k, 'flash_sale' AS audience, f.`ok_0` AS admitted, f.`by_0` AS cap FROM `pressure_4` AS f WHERE f.`q_0` >= 1
  UNION ALL
  SELECT f.k, 'restock' AS audience, f.`ok_1` AS admitted, f.`by_1` AS cap FROM `pressure_4` AS f WHERE f.`q_1` >= 1
  UNION ALL
  SELECT f.k, 'sms_promo' AS audience, f.`ok_2` AS admitted, f.`by_2` AS cap FROM `pressure_4` AS f WHERE f.`q_2` >= 1
  UNION ALL
  SELECT f.k, 'newsletter' AS audience, f.`ok_3` AS admitted, f.`by_3` AS cap FROM `pressure_4` AS f WHERE f.`q_3` >= 1
)
SELECT
  r.audience AS `audience`,
  CASE WHEN r.suppressed THEN 'suppressed' WHEN NOT r.consented THEN 'no_consent' WHEN v.admitted = 0 THEN 'capped' ELSE 'member' END AS `audience_status`,
  'treatment' AS `audience_group`,
  r.channel AS `audience_channel`,
  r.priority AS `audience_priority`,
  CASE WHEN r.suppressed OR NOT r.consented THEN CAST(NULL AS STRING) WHEN v.admitted = 0 THEN CASE v.cap WHEN 0 THEN 'email ≤ 2 per 7 days' WHEN 1 THEN 'all channels ≤ 3 per 30 days' END END AS `audience_capped_by`,
  base.*
FROM `ranked` AS r
JOIN `base` AS base ON base.`customer_id` = r.k
LEFT JOIN `pressure_verdicts` AS v ON v.k = r.k AND v.audience = r.audience;

-- "history": :run_time below stands for the time the build reaches this step (UTC)

  -- membership history, when the previous build left `analytics`.`campaigns_history` (the build fails if it lacks any of audience, customer_id, audience_group, entered_at, exited_at):
  CREATE TABLE `analytics__tl_work`.`campaigns__tl_history` AS
  SELECT p.audience, p.`customer_id`, p.audience_group, p.entered_at, p.exited_at FROM `analytics`.`campaigns_history` AS p WHERE p.exited_at IS NOT NULL
  UNION ALL
  SELECT p.audience, p.`customer_id`, p.audience_group, p.entered_at, CAST(NULL AS TIMESTAMP) FROM `analytics`.`campaigns_history` AS p WHERE p.exited_at IS NULL AND EXISTS (SELECT 1 FROM `analytics__tl_work`.`campaigns__tl_members` AS m WHERE m.audience = p.audience AND m.`customer_id` = p.`customer_id` AND m.audience_status = 'member')
  UNION ALL
  SELECT p.audience, p.`customer_id`, p.audience_group, p.entered_at, :run_time FROM `analytics`.`campaigns_history` AS p WHERE p.exited_at IS NULL AND NOT EXISTS (SELECT 1 FROM `analytics__tl_work`.`campaigns__tl_members` AS m WHERE m.audience = p.audience AND m.`customer_id` = p.`customer_id` AND m.audience_status = 'member')
  UNION ALL
  SELECT m.audience, m.`customer_id`, m.audience_group, :run_time AS entered_at, CAST(NULL AS TIMESTAMP) AS exited_at
  FROM `analytics__tl_work`.`campaigns__tl_members` AS m
  WHERE m.audience_status = 'member'
    AND NOT EXISTS (SELECT 1 FROM `analytics`.`campaigns_history` AS p WHERE p.exited_at IS NULL AND p.audience = m.audience AND p.`customer_id` = m.`customer_id`);

  -- membership history, on the first build or a full refresh:
  CREATE TABLE `analytics__tl_work`.`campaigns__tl_history` AS
  SELECT m.audience, m.`customer_id`, m.audience_group, :run_time AS entered_at, CAST(NULL AS TIMESTAMP) AS exited_at
  FROM `analytics__tl_work`.`campaigns__tl_members` AS m
  WHERE m.audience_status = 'member';

  -- memberships with the time each member entered
  CREATE TABLE `analytics__tl_work`.`campaigns__tl_build` AS
  SELECT m.`audience`, m.`audience_status`, m.`audience_group`, m.`audience_channel`, m.`audience_priority`, m.`audience_capped_by`, h.entered_at AS `audience_entered_at`, m.`customer_id`, m.`consent_email`, m.`consent_sms`, m.`consent_ads`, m.`q_flash_sale`, m.`q_restock`, m.`q_newsletter`, m.`q_receipt`, m.`q_sms_promo`, m.`q_blocklist`, m.`q_winback`, m.`q_ads_retarget`
  FROM `analytics__tl_work`.`campaigns__tl_members` AS m
  LEFT JOIN `analytics__tl_work`.`campaigns__tl_history` AS h ON h.audience = m.audience AND h.`customer_id` = m.`customer_id` AND h.exited_at IS NULL;

  -- sizes and moves of this run
  CREATE TABLE `analytics__tl_work`.`campaigns__tl_report` AS
  WITH names AS (
    SELECT 'flash_sale' AS audience, 'email' AS channel
    UNION ALL SELECT 'restock' AS audience, 'email' AS channel
    UNION ALL SELECT 'newsletter' AS audience, 'email' AS channel
    UNION ALL SELECT 'receipt' AS audience, 'email' AS channel
    UNION ALL SELECT 'sms_promo' AS audience, 'sms' AS channel
    UNION ALL SELECT 'blocklist' AS audience, 'email' AS channel
  ),
  sizes AS (
    SELECT audience,
      SUM(CASE WHEN audience_status = 'member' THEN 1 ELSE 0 END) AS members,
      SUM(CASE WHEN audience_status = 'member' AND audience_group = 'holdout' THEN 1 ELSE 0 END) AS holdout,
      SUM(CASE WHEN audience_status = 'no_consent' THEN 1 ELSE 0 END) AS no_consent,
      SUM(CASE WHEN audience_status = 'capped' THEN 1 ELSE 0 END) AS capped,
      SUM(CASE WHEN audience_status = 'suppressed' THEN 1 ELSE 0 END) AS suppressed
    FROM `analytics__tl_work`.`campaigns__tl_members` GROUP BY audience
  ),
  moves AS (
    SELECT audience, SUM(CASE WHEN entered_at = :run_time THEN 1 ELSE 0 END) AS entered, SUM(CASE WHEN exited_at = :run_time THEN 1 ELSE 0 END) AS exited
    FROM `analytics__tl_work`.`campaigns__tl_history` GROUP BY audience
  )
  SELECT n.audience, n.channel, :run_time AS built_at,
    COALESCE(s.members, 0) AS members, COALESCE(s.holdout, 0) AS holdout, COALESCE(s.no_consent, 0) AS no_consent,
    COALESCE(s.capped, 0) AS capped, COALESCE(s.suppressed, 0) AS suppressed, COALESCE(v.entered, 0) AS entered, COALESCE(v.exited, 0) AS exited
  FROM names AS n
  LEFT JOIN sizes AS s ON s.audience = n.audience
  LEFT JOIN moves AS v ON v.audience = n.audience;

-- end "history"

-- swap in
CREATE OR REPLACE TABLE `analytics`.`campaigns_history` COPY `analytics__tl_work`.`campaigns__tl_history`;
DROP TABLE IF EXISTS `analytics__tl_work`.`campaigns__tl_history`;
CREATE OR REPLACE TABLE `analytics`.`campaigns_report` COPY `analytics__tl_work`.`campaigns__tl_report`;
DROP TABLE IF EXISTS `analytics__tl_work`.`campaigns__tl_report`;
CREATE OR REPLACE TABLE `analytics`.`campaigns` COPY `analytics__tl_work`.`campaigns__tl_build`;
DROP TABLE IF EXISTS `analytics__tl_work`.`campaigns__tl_build`;

-- clean up
DROP TABLE IF EXISTS `analytics__tl_work`.`campaigns__tl_members`;
DROP TABLE IF EXISTS `analytics__tl_work`.`campaigns__tl_current`;
