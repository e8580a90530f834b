-- segments (audiences) for target bigquery (bigquery)
-- Built into `analytics__tl_work`.`segments__tl_build`, `analytics__tl_work`.`segments__tl_history`, `analytics__tl_work`.`segments__tl_report`, then swapped in by atomic replaces, the model last.

DROP TABLE IF EXISTS `analytics__tl_work`.`segments__tl_build`;
DROP TABLE IF EXISTS `analytics__tl_work`.`segments__tl_history`;
DROP TABLE IF EXISTS `analytics__tl_work`.`segments__tl_report`;
DROP TABLE IF EXISTS `analytics__tl_work`.`segments__tl_members`;

-- memberships
CREATE TABLE `analytics__tl_work`.`segments__tl_members` AS
WITH `base` AS (
  SELECT b.`customer_id`, b.`email`, b.`phone`, b.`order_count`, b.`first_order_at`, b.`rfm_segment`, b.`predicted_clv`, b.`consent_email`, b.`consent_ads`, b.`consent_phone`, j0.`churn_risk`, j0.`loyalty_tier`
  FROM `raw`.`customers` AS b
  LEFT JOIN `raw`.`scores` AS j0 ON j0.`customer_id` = b.`customer_id`
),
`p_0_0` AS (
  SELECT base.`customer_id` AS k, ROW_NUMBER() OVER (ORDER BY base.`predicted_clv` DESC, base.`customer_id`) AS rn, COUNT(*) OVER () AS n
  FROM `base` AS base
  WHERE base.`predicted_clv` IS NOT NULL
),
`e_1_0` AS (
  SELECT ev.`customer_id` AS k, COUNT(*) AS n
  FROM `raw`.`emails` AS ev
  WHERE CAST(ev.`occurred_at` AS DATE) <= DATE '2026-06-30'
    AND CAST(ev.`occurred_at` AS DATE) > DATE_ADD(DATE '2026-06-30', INTERVAL -30 DAY)
    AND ev.`event_type` = 'delivered'
  GROUP BY ev.`customer_id`
),
`e_1_1` AS (
  SELECT ev.`customer_id` AS k, COUNT(*) AS n
  FROM `raw`.`emails` AS ev
  WHERE CAST(ev.`occurred_at` AS DATE) <= DATE '2026-06-30'
    AND CAST(ev.`occurred_at` AS DATE) > DATE_ADD(DATE '2026-06-30', INTERVAL -30 DAY)
    AND ev.`event_type` = 'opened'
    AND ev.`machine_open` = FALSE
  GROUP BY ev.`customer_id`
),
`e_2` AS (
  SELECT ev.`customer_id` AS k, COUNT(*) AS n
  FROM `raw`.`orders` AS ev
  WHERE CAST(ev.`ordered_at` AS DATE) <= DATE '2026-06-30'
    AND CAST(ev.`ordered_at` AS DATE) > DATE_ADD(DATE '2026-06-30', INTERVAL -12 MONTH)
  GROUP BY ev.`customer_id`
),
`e_3_0` AS (
  SELECT ev.`customer_id` AS k, COUNT(*) AS n
  FROM `raw`.`order_lines` AS ev
  WHERE CAST(ev.`ordered_at` AS DATE) <= DATE '2026-06-30'
    AND ev.`category` = 'Womenswear'
  GROUP BY ev.`customer_id`
),
`e_3_1` AS (
  SELECT ev.`customer_id` AS k, COUNT(*) AS n
  FROM `raw`.`order_lines` AS ev
  WHERE CAST(ev.`ordered_at` AS DATE) <= DATE '2026-06-30'
    AND ev.`category` = 'Shoes'
  GROUP BY ev.`customer_id`
),
`e_5` AS (
  SELECT ev.`customer_id` AS k, COUNT(*) AS n
  FROM `raw`.`web` AS ev
  WHERE CAST(ev.`occurred_at` AS DATE) <= DATE '2026-06-30'
    AND CAST(ev.`occurred_at` AS DATE) > DATE_ADD(DATE '2026-06-30', INTERVAL -3 DAY)
    AND ev.`event_type` = 'add_to_cart'
    AND NOT EXISTS (SELECT 1 FROM `raw`.`orders` AS nx WHERE nx.`customer_id` = ev.`customer_id` AND CAST(nx.`ordered_at` AS TIMESTAMP) > CAST(ev.`occurred_at` AS TIMESTAMP) AND CAST(CAST(nx.`ordered_at` AS TIMESTAMP) AS DATE) <= DATE '2026-06-30')
  GROUP BY ev.`customer_id`
),
`a_0` AS (
  SELECT DISTINCT u.k FROM (
    SELECT base.`customer_id` AS k FROM `base` AS base
    LEFT JOIN `p_0_0` ON `p_0_0`.k = base.`customer_id`
    WHERE (COALESCE(`p_0_0`.rn * 10000 <= `p_0_0`.n * 2000, FALSE) OR COALESCE(base.`rfm_segment` = 'Champions', FALSE))
  ) AS u
  WHERE u.k IS NOT NULL
),
`a_1` AS (
  SELECT DISTINCT u.k FROM (
    SELECT base.`customer_id` AS k FROM `base` AS base
    LEFT JOIN `e_1_0` ON `e_1_0`.k = base.`customer_id`
    LEFT JOIN `e_1_1` ON `e_1_1`.k = base.`customer_id`
    WHERE (COALESCE(`e_1_0`.n, 0) >= 3 AND COALESCE(`e_1_1`.n, 0) = 0)
  ) AS u
  WHERE u.k IS NOT NULL
),
`a_2` AS (
  SELECT DISTINCT u.k FROM (
    SELECT base.`customer_id` AS k FROM `base` AS base
    LEFT JOIN `e_2` ON `e_2`.k = base.`customer_id`
    WHERE COALESCE(`e_2`.n, 0) >= 1
  ) AS u
  WHERE u.k IS NOT NULL
),
`a_3` AS (
  SELECT DISTINCT u.k FROM (
    SELECT base.`customer_id` AS k FROM `base` AS base
    LEFT JOIN `e_3_0` ON `e_3_0`.k = base.`customer_id`
    LEFT JOIN `e_3_1` ON `e_3_1`.k = base.`customer_id`
    WHERE (COALESCE(`e_3_0`.n, 0) >= 1 AND COALESCE(`e_3_1`.n, 0) = 0 AND COALESCE(CAST(base.`first_order_at` AS DATE) BETWEEN DATE_ADD(DATE '2026-06-30', INTERVAL -45 DAY) AND DATE_ADD(DATE '2026-06-30', INTERVAL -30 DAY), FALSE))
  ) AS u
  WHERE u.k IS NOT NULL
),
`a_4` AS (
  SELECT DISTINCT u.k FROM (
    SELECT base.`customer_id` AS k FROM `base` AS base
    WHERE (COALESCE(base.`rfm_segment` IN ('At Risk', 'Can\'t Lose Them'), FALSE) AND COALESCE(base.`predicted_clv` > 300, FALSE) AND COALESCE(base.`phone` IS NOT NULL, FALSE))
  ) AS u
  WHERE u.k IS NOT NULL
),
`a_5` AS (
  SELECT DISTINCT u.k FROM (
    SELECT base.`customer_id` AS k FROM `base` AS base
    LEFT JOIN `e_5` ON `e_5`.k = base.`customer_id`
    WHERE COALESCE(`e_5`.n, 0) >= 1
  ) AS u
  WHERE u.k IS NOT NULL
),
`a_6` AS (
  SELECT DISTINCT u.k FROM (
    SELECT base.`customer_id` AS k FROM `base` AS base
    WHERE (COALESCE(base.`order_count` = 1, FALSE) AND COALESCE(CAST(base.`first_order_at` AS DATE) BETWEEN DATE_ADD(DATE '2026-06-30', INTERVAL -45 DAY) AND DATE_ADD(DATE '2026-06-30', INTERVAL -30 DAY), FALSE))
  ) AS u
  WHERE u.k IS NOT NULL
),
`a_7` AS (
  SELECT DISTINCT u.k FROM (
    SELECT k FROM `a_1`
    UNION ALL
    SELECT k FROM `a_5`
  ) AS u
  WHERE u.k IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM `a_6` AS x WHERE x.k = u.k)
),
`a_8` AS (
  SELECT DISTINCT u.k FROM (
    SELECT base.`customer_id` AS k FROM `base` AS base
    WHERE (NOT COALESCE(base.`rfm_segment` = 'Champions', FALSE) AND EXISTS (SELECT 1 FROM `a_2` AS m WHERE m.k = base.`customer_id`))
  ) AS u
  WHERE u.k IS NOT NULL
),
`a_9` AS (
  SELECT DISTINCT u.k FROM (
    SELECT base.`customer_id` AS k FROM `base` AS base
    WHERE (COALESCE(base.`churn_risk` > 0.5, FALSE) AND COALESCE(base.`loyalty_tier` = 'gold', FALSE))
  ) AS u
  WHERE u.k IS NOT NULL
),
`a_10` AS (
  SELECT DISTINCT u.k FROM (
    SELECT base.`customer_id` AS k FROM `base` AS base
    WHERE COALESCE(base.`loyalty_tier` IS NULL, FALSE)
  ) AS u
  WHERE u.k IS NOT NULL
),
`a_11` AS (
  SELECT DISTINCT u.k FROM (
    SELECT base.`customer_id` AS k FROM `base` AS base
    WHERE COALESCE(base.`order_count` >= 5, FALSE)
  ) AS u
  WHERE u.k IS NOT NULL
),
`eligible` AS (
  SELECT 'lookalike_seed' AS audience, 'ads' AS channel, 0 AS priority, FALSE AS exempt, k FROM `a_0`
  UNION ALL
  SELECT 'email_non_openers' AS audience, 'email' AS channel, 1 AS priority, FALSE AS exempt, k FROM `a_1`
  UNION ALL
  SELECT 'current_customers' AS audience, 'ads' AS channel, 0 AS priority, FALSE AS exempt, k FROM `a_2`
  UNION ALL
  SELECT 'cross_sell_shoes' AS audience, 'email' AS channel, 3 AS priority, FALSE AS exempt, k FROM `a_3`
  UNION ALL
  SELECT 'winback' AS audience, 'phone' AS channel, 0 AS priority, FALSE AS exempt, k FROM `a_4`
  UNION ALL
  SELECT 'abandoned_cart' AS audience, 'email' AS channel, 10 AS priority, FALSE AS exempt, k FROM `a_5`
  UNION ALL
  SELECT 'second_purchase' AS audience, 'email' AS channel, 5 AS priority, FALSE AS exempt, k FROM `a_6`
  UNION ALL
  SELECT 'retarget' AS audience, 'crm' AS channel, 0 AS priority, FALSE AS exempt, k FROM `a_7`
  UNION ALL
  SELECT 'not_champions_with_orders' AS audience, 'crm' AS channel, 0 AS priority, FALSE AS exempt, k FROM `a_8`
  UNION ALL
  SELECT 'churning_gold' AS audience, 'crm' AS channel, 0 AS priority, FALSE AS exempt, k FROM `a_9`
  UNION ALL
  SELECT 'unscored' AS audience, 'crm' AS channel, 0 AS priority, FALSE AS exempt, k FROM `a_10`
  UNION ALL
  SELECT 'email_exclusion' AS audience, 'email' AS channel, 100 AS priority, TRUE AS exempt, k FROM `a_11`
),
`judged` AS (
  SELECT e.audience, e.channel, e.priority, e.exempt, e.k, CASE e.audience
    WHEN 'lookalike_seed' THEN COALESCE(base.`consent_ads`, FALSE)
    WHEN 'email_non_openers' THEN COALESCE(base.`consent_email`, FALSE)
    WHEN 'current_customers' THEN TRUE
    WHEN 'cross_sell_shoes' THEN COALESCE(base.`consent_email`, FALSE)
    WHEN 'winback' THEN COALESCE(base.`consent_phone`, FALSE)
    WHEN 'abandoned_cart' THEN COALESCE(base.`consent_email`, FALSE)
    WHEN 'second_purchase' THEN COALESCE(base.`consent_email`, FALSE)
    WHEN 'retarget' THEN TRUE
    WHEN 'not_champions_with_orders' THEN TRUE
    WHEN 'churning_gold' THEN TRUE
    WHEN 'unscored' THEN TRUE
    WHEN 'email_exclusion' THEN TRUE
  END AS consented, FALSE AS suppressed
  FROM `eligible` AS e JOIN `base` AS base ON base.`customer_id` = e.k
),
`ranked` AS (
  SELECT j.*,
    ROW_NUMBER() OVER (PARTITION BY j.k, j.channel, j.consented, j.exempt, j.suppressed ORDER BY j.priority DESC, j.audience) AS pressure_rank,
    MOD(CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5(CAST(j.k AS STRING) || '|' || j.audience || '|' || 'test-salt')), 1, 8)) AS INT64), 10000) AS bucket
  FROM `judged` AS j
)
SELECT
  r.audience AS `audience`,
  CASE WHEN r.suppressed THEN 'suppressed' WHEN NOT r.consented THEN 'no_consent' WHEN COALESCE(NOT r.exempt AND r.pressure_rank > CASE r.channel WHEN 'email' THEN 1 END, FALSE) THEN 'capped' ELSE 'member' END AS `audience_status`,
  CASE r.audience
    WHEN 'second_purchase' THEN CASE WHEN r.bucket < 5000 THEN 'holdout' ELSE 'treatment' END
    ELSE 'treatment' END AS `audience_group`,
  r.channel AS `audience_channel`,
  r.priority AS `audience_priority`,
  CASE WHEN r.suppressed OR NOT r.consented THEN CAST(NULL AS STRING) WHEN COALESCE(NOT r.exempt AND r.pressure_rank > CASE r.channel WHEN 'email' THEN 1 END, FALSE) THEN CASE r.channel WHEN 'email' THEN 'email ≤ 1 audience at once' END END AS `audience_capped_by`,
  base.*
FROM `ranked` AS r
JOIN `base` AS base ON base.`customer_id` = r.k;

-- "history": :run_time below stands for the time the build reaches this step (UTC)

  -- membership history, when the previous build left `analytics`.`segments_history` (the build fails if it lacks any of audience, customer_id, audience_group, entered_at, exited_at):
  CREATE TABLE `analytics__tl_work`.`segments__tl_history` AS
  SELECT p.audience, p.`customer_id`, p.audience_group, p.entered_at, p.exited_at FROM `analytics`.`segments_history` AS p WHERE p.exited_at IS NOT NULL
  UNION ALL
  SELECT p.audience, p.`customer_id`, p.audience_group, p.entered_at, CAST(NULL AS TIMESTAMP) FROM `analytics`.`segments_history` AS p WHERE p.exited_at IS NULL AND EXISTS (SELECT 1 FROM `analytics__tl_work`.`segments__tl_members` AS m WHERE m.audience = p.audience AND m.`customer_id` = p.`customer_id` AND m.audience_status = 'member')
  UNION ALL
  SELECT p.audience, p.`customer_id`, p.audience_group, p.entered_at, :run_time FROM `analytics`.`segments_history` AS p WHERE p.exited_at IS NULL AND NOT EXISTS (SELECT 1 FROM `analytics__tl_work`.`segments__tl_members` AS m WHERE m.audience = p.audience AND m.`customer_id` = p.`customer_id` AND m.audience_status = 'member')
  UNION ALL
  SELECT m.audience, m.`customer_id`, m.audience_group, :run_time AS entered_at, CAST(NULL AS TIMESTAMP) AS exited_at
  FROM `analytics__tl_work`.`segments__tl_members` AS m
  WHERE m.audience_status = 'member'
    AND NOT EXISTS (SELECT 1 FROM `analytics`.`segments_history` AS p WHERE p.exited_at IS NULL AND p.audience = m.audience AND p.`customer_id` = m.`customer_id`);

  -- membership history, on the first build or a full refresh:
  CREATE TABLE `analytics__tl_work`.`segments__tl_history` AS
  SELECT m.audience, m.`customer_id`, m.audience_group, :run_time AS entered_at, CAST(NULL AS TIMESTAMP) AS exited_at
  FROM `analytics__tl_work`.`segments__tl_members` AS m
  WHERE m.audience_status = 'member';

  -- memberships with the time each member entered
  CREATE TABLE `analytics__tl_work`.`segments__tl_build` AS
  SELECT m.`audience`, m.`audience_status`, m.`audience_group`, m.`audience_channel`, m.`audience_priority`, m.`audience_capped_by`, h.entered_at AS `audience_entered_at`, m.`customer_id`, m.`email`, m.`phone`, m.`order_count`, m.`first_order_at`, m.`rfm_segment`, m.`predicted_clv`, m.`consent_email`, m.`consent_ads`, m.`consent_phone`, m.`churn_risk`, m.`loyalty_tier`
  FROM `analytics__tl_work`.`segments__tl_members` AS m
  LEFT JOIN `analytics__tl_work`.`segments__tl_history` AS h ON h.audience = m.audience AND h.`customer_id` = m.`customer_id` AND h.exited_at IS NULL;

  -- sizes and moves of this run
  CREATE TABLE `analytics__tl_work`.`segments__tl_report` AS
  WITH names AS (
    SELECT 'lookalike_seed' AS audience, 'ads' AS channel
    UNION ALL SELECT 'email_non_openers' AS audience, 'email' AS channel
    UNION ALL SELECT 'current_customers' AS audience, 'ads' AS channel
    UNION ALL SELECT 'cross_sell_shoes' AS audience, 'email' AS channel
    UNION ALL SELECT 'winback' AS audience, 'phone' AS channel
    UNION ALL SELECT 'abandoned_cart' AS audience, 'email' AS channel
    UNION ALL SELECT 'second_purchase' AS audience, 'email' AS channel
    UNION ALL SELECT 'retarget' AS audience, 'crm' AS channel
    UNION ALL SELECT 'not_champions_with_orders' AS audience, 'crm' AS channel
    UNION ALL SELECT 'churning_gold' AS audience, 'crm' AS channel
    UNION ALL SELECT 'unscored' AS audience, 'crm' AS channel
    UNION ALL SELECT 'email_exclusion' AS audience, 'email' AS channel
  ),
  sizes AS (
    SELECT audience,
      SUM(CASE WHEN audience_status = 'member' THEN 1 ELSE 0 END) AS members,
      SUM(CASE WHEN audience_status = 'member' AND audience_group = 'holdout' THEN 1 ELSE 0 END) AS holdout,
      SUM(CASE WHEN audience_status = 'no_consent' THEN 1 ELSE 0 END) AS no_consent,
      SUM(CASE WHEN audience_status = 'capped' THEN 1 ELSE 0 END) AS capped,
      SUM(CASE WHEN audience_status = 'suppressed' THEN 1 ELSE 0 END) AS suppressed
    FROM `analytics__tl_work`.`segments__tl_members` GROUP BY audience
  ),
  moves AS (
    SELECT audience, SUM(CASE WHEN entered_at = :run_time THEN 1 ELSE 0 END) AS entered, SUM(CASE WHEN exited_at = :run_time THEN 1 ELSE 0 END) AS exited
    FROM `analytics__tl_work`.`segments__tl_history` GROUP BY audience
  )
  SELECT n.audience, n.channel, :run_time AS built_at,
    COALESCE(s.members, 0) AS members, COALESCE(s.holdout, 0) AS holdout, COALESCE(s.no_consent, 0) AS no_consent,
    COALESCE(s.capped, 0) AS capped, COALESCE(s.suppressed, 0) AS suppressed, COALESCE(v.entered, 0) AS entered, COALESCE(v.exited, 0) AS exited
  FROM names AS n
  LEFT JOIN sizes AS s ON s.audience = n.audience
  LEFT JOIN moves AS v ON v.audience = n.audience;

-- end "history"

-- swap in
CREATE OR REPLACE TABLE `analytics`.`segments_history` COPY `analytics__tl_work`.`segments__tl_history`;
DROP TABLE IF EXISTS `analytics__tl_work`.`segments__tl_history`;
CREATE OR REPLACE TABLE `analytics`.`segments_report` COPY `analytics__tl_work`.`segments__tl_report`;
DROP TABLE IF EXISTS `analytics__tl_work`.`segments__tl_report`;
CREATE OR REPLACE TABLE `analytics`.`segments` COPY `analytics__tl_work`.`segments__tl_build`;
DROP TABLE IF EXISTS `analytics__tl_work`.`segments__tl_build`;

-- clean up
DROP TABLE IF EXISTS `analytics__tl_work`.`segments__tl_members`;
