-- the membership SELECT of segs
WITH `base` AS (
  SELECT b.`customer_id`, b.`email`, b.`orders`, b.`consent_email`
  FROM `raw`.`customers` AS b
),
`a_0` AS (
  SELECT DISTINCT u.k FROM (
    SELECT base.`customer_id` AS k FROM `base` AS base
    WHERE COALESCE(base.`orders` >= 1, FALSE)
  ) AS u
  WHERE u.k IS NOT NULL
),
`a_1` AS (
  SELECT DISTINCT u.k FROM (
    SELECT base.`customer_id` AS k FROM `base` AS base
    WHERE COALESCE(base.`orders` >= 3, FALSE)
  ) AS u
  WHERE u.k IS NOT NULL
),
`eligible` AS (
  SELECT 'buyers' AS audience, 'email' AS channel, 0 AS priority, FALSE AS exempt, k FROM `a_0`
  UNION ALL
  SELECT 'vip' AS audience, 'email' AS channel, 5 AS priority, FALSE AS exempt, k FROM `a_1`
),
`judged` AS (
  SELECT e.audience, e.channel, e.priority, e.exempt, e.k, CASE e.audience
    WHEN 'buyers' THEN COALESCE(base.`consent_email`, FALSE)
    WHEN 'vip' THEN COALESCE(base.`consent_email`, FALSE)
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
  CASE WHEN r.suppressed THEN 'suppressed' WHEN NOT r.consented THEN 'no_consent' WHEN COALESCE(NOT r.exempt AND r.pressure_rank > CASE r.channel WHEN 'email' THEN 1 END, FALSE) THEN 'capped' ELSE 'member' END AS `audience_status`,
  CASE r.audience
    WHEN 'buyers' THEN CASE WHEN r.bucket < 2000 THEN 'holdout' WHEN r.bucket < 6000 THEN 'a' WHEN r.bucket < 10000 THEN 'b' ELSE 'treatment' END
    ELSE 'treatment' END AS `audience_group`,
  r.channel AS `audience_channel`,
  r.priority AS `audience_priority`,
  CASE WHEN r.suppressed OR NOT r.consented THEN CAST(NULL AS STRING) WHEN COALESCE(NOT r.exempt AND r.pressure_rank > CASE r.channel WHEN 'email' THEN 1 END, FALSE) THEN CASE r.channel WHEN 'email' THEN 'email ≤ 1 audience at once' END END AS `audience_capped_by`,
  base.*
FROM `ranked` AS r
JOIN `base` AS base ON base.`customer_id` = r.k;

-- the membership SELECT of promos
WITH `base` AS (
  SELECT b.`customer_id`, b.`email`, b.`orders`, b.`consent_email`
  FROM `raw`.`customers` AS b
),
`a_0` AS (
  SELECT DISTINCT u.k FROM (
    SELECT base.`customer_id` AS k FROM `base` AS base
    WHERE COALESCE(base.`email` IS NOT NULL, FALSE)
  ) AS u
  WHERE u.k IS NOT NULL
),
`eligible` AS (
  SELECT 'newsletter' AS audience, 'email' AS channel, 0 AS priority, FALSE AS exempt, k FROM `a_0`
),
`judged` AS (
  SELECT e.audience, e.channel, e.priority, e.exempt, e.k, CASE e.audience
    WHEN 'newsletter' THEN COALESCE(base.`consent_email`, FALSE)
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

WITH m AS (
  SELECT * FROM (
    -- the membership SELECT of segs, above
  ) AS q
),
t AS (
  SELECT DISTINCT m.`customer_id` AS k FROM m WHERE m.`audience` = 'buyers' AND m.`audience_status` = 'member'
)
SELECT m.`audience`, m.`audience_status`, m.`audience_group`, m.`audience_capped_by`, COUNT(*) AS `n`, COUNT(t.k) AS `shared`
FROM m LEFT JOIN t ON t.k = m.`customer_id`
GROUP BY m.`audience`, m.`audience_status`, m.`audience_group`, m.`audience_capped_by`;

WITH t AS (
  SELECT DISTINCT CAST(q.`customer_id` AS STRING) AS k FROM (
    -- the membership SELECT of segs, above
  ) AS q
  WHERE q.`audience` = 'buyers' AND q.`audience_status` = 'member'
),
o AS (
  SELECT * FROM (
    -- the membership SELECT of promos, above
  ) AS p
)
SELECT o.`audience` AS `audience`, COUNT(*) AS `shared`
FROM o JOIN t ON t.k = CAST(o.`customer_id` AS STRING)
WHERE o.`audience_status` = 'member'
GROUP BY o.`audience`;

SELECT * FROM (
    -- the membership SELECT of segs, above
  ) AS q
WHERE q.`audience` = 'buyers' AND q.`audience_status` = 'member'
ORDER BY q.`customer_id`
LIMIT 10;

SELECT * FROM `analytics`.`segs_report` ORDER BY audience;

SELECT COUNT(*) AS `n` FROM `analytics`.`segs_history` AS h WHERE h.`entered_at` < (SELECT MAX(r.`built_at`) FROM `analytics`.`segs_report` AS r);
