-- memberships of segments
CREATE TABLE `analytics__tl_work`.`segments__tl_members` AS
WITH `base` AS (
  SELECT b.`customer_id`, b.`orders`, b.`consent_email`
  FROM `analytics`.`customers` AS b
),
`tl_sup_0` AS (
  SELECT DISTINCT CAST(s.`customer_id` AS STRING) AS k FROM `raw`.`tickets` AS s WHERE s.`customer_id` IS NOT NULL AND s.`type` = 'complaint' AND CAST(s.`created_at` AS DATE) > DATE_ADD(DATE '2026-06-30', INTERVAL -14 DAY)
),
`tl_sup_1` AS (
  SELECT DISTINCT CAST(s.`customer_id` AS STRING) AS k FROM `raw`.`bounces` AS s WHERE s.`customer_id` IS NOT NULL AND s.`kind` = 'hard'
),
`tl_pref_latest` AS (
  SELECT k, ch, tp, g FROM (
    SELECT CAST(p.`customer_id` AS STRING) AS k, CAST(p.`channel` AS STRING) AS ch, CAST(p.`topic` AS STRING) AS tp, p.`opted_in` AS g,
      ROW_NUMBER() OVER (PARTITION BY p.`customer_id`, p.`channel`, p.`topic` ORDER BY p.`updated_at` DESC, CASE WHEN p.`opted_in` THEN 1 ELSE 0 END ASC) AS rn
    FROM `raw`.`preferences` AS p
    WHERE p.`customer_id` IS NOT NULL AND p.`channel` IS NOT NULL AND p.`opted_in` IS NOT NULL AND p.`updated_at` IS NOT NULL
  ) AS x WHERE rn = 1
),
`tl_pref_email_out` AS (
  SELECT k FROM `tl_pref_latest` WHERE ch = 'email' AND tp IS NULL AND NOT g
),
`tl_pref_email_promotions_in` AS (
  SELECT k FROM `tl_pref_latest` WHERE ch = 'email' AND (tp = 'promotions' OR tp IS NULL)
  GROUP BY k
  HAVING MAX(CASE WHEN tp = 'promotions' AND g THEN 1 ELSE 0 END) = 1 OR (MAX(CASE WHEN tp = 'promotions' THEN 1 ELSE 0 END) = 0 AND MAX(CASE WHEN tp IS NULL AND g THEN 1 ELSE 0 END) = 1)
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
    WHERE COALESCE(base.`orders` >= 0, FALSE)
  ) AS u
  WHERE u.k IS NOT NULL
),
`a_2` AS (
  SELECT DISTINCT u.k FROM (
    SELECT base.`customer_id` AS k FROM `base` AS base
    WHERE COALESCE(base.`orders` >= 0, FALSE)
  ) AS u
  WHERE u.k IS NOT NULL
),
`a_3` AS (
  SELECT DISTINCT u.k FROM (
    SELECT base.`customer_id` AS k FROM `base` AS base
    WHERE COALESCE(base.`orders` >= 1, FALSE)
  ) AS u
  WHERE u.k IS NOT NULL
),
`eligible` AS (
  SELECT 'loyal' AS audience, 'email' AS channel, 0 AS priority, FALSE AS exempt, k FROM `a_0`
  UNION ALL
  SELECT 'promo_mail' AS audience, 'email' AS channel, 0 AS priority, FALSE AS exempt, k FROM `a_1`
  UNION ALL
  SELECT 'ads_promo' AS audience, 'ads' AS channel, 10 AS priority, FALSE AS exempt, k FROM `a_2`
  UNION ALL
  SELECT 'buyers_excl' AS audience, 'ads' AS channel, 0 AS priority, TRUE AS exempt, k FROM `a_3`
),
`judged` AS (
  SELECT e.audience, e.channel, e.priority, e.exempt, e.k, CASE e.audience
    WHEN 'loyal' THEN (COALESCE(base.`consent_email`, FALSE) AND NOT (`tl_pref_email_out`.k IS NOT NULL))
    WHEN 'promo_mail' THEN (COALESCE(base.`consent_email`, FALSE) AND NOT ((`tl_pref_email_out`.k IS NOT NULL OR `tl_pref_email_promotions_in`.k IS NULL)))
    WHEN 'ads_promo' THEN TRUE
    WHEN 'buyers_excl' THEN TRUE
  END AS consented, CASE e.audience
    WHEN 'loyal' THEN (`tl_sup_0`.k IS NOT NULL OR `tl_sup_1`.k IS NOT NULL)
    WHEN 'promo_mail' THEN (`tl_sup_0`.k IS NOT NULL OR `tl_sup_1`.k IS NOT NULL)
    WHEN 'ads_promo' THEN `tl_sup_0`.k IS NOT NULL
    WHEN 'buyers_excl' THEN FALSE
  END AS suppressed
  FROM `eligible` AS e JOIN `base` AS base ON base.`customer_id` = e.k
  LEFT JOIN `tl_sup_0` ON `tl_sup_0`.k = CAST(e.k AS STRING)
  LEFT JOIN `tl_sup_1` ON `tl_sup_1`.k = CAST(e.k AS STRING)
  LEFT JOIN `tl_pref_email_out` ON `tl_pref_email_out`.k = CAST(e.k AS STRING)
  LEFT JOIN `tl_pref_email_promotions_in` ON `tl_pref_email_promotions_in`.k = CAST(e.k AS STRING)
),
`ranked` AS (
  SELECT j.*,
    ROW_NUMBER() OVER (PARTITION BY j.k, j.channel, j.consented, j.exempt, j.suppressed ORDER BY j.priority DESC, j.audience) AS pressure_rank,
    MOD(CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5(CAST(j.k AS STRING) || '|' || j.audience || '|' || 'tideline')), 1, 8)) AS INT64), 10000) AS bucket
  FROM `judged` AS j
)
SELECT
  r.audience AS `audience`,
  CASE WHEN r.suppressed THEN 'suppressed' WHEN NOT r.consented THEN 'no_consent' WHEN COALESCE(NOT r.exempt AND r.pressure_rank > CASE r.channel WHEN 'ads' THEN 1 END, FALSE) THEN 'capped' ELSE 'member' END AS `audience_status`,
  'treatment' AS `audience_group`,
  r.channel AS `audience_channel`,
  r.priority AS `audience_priority`,
  CASE WHEN r.suppressed OR NOT r.consented THEN CAST(NULL AS STRING) WHEN COALESCE(NOT r.exempt AND r.pressure_rank > CASE r.channel WHEN 'ads' THEN 1 END, FALSE) THEN CASE r.channel WHEN 'ads' THEN 'ads ≤ 1 audience at once' END END AS `audience_capped_by`,
  base.*
FROM `ranked` AS r
JOIN `base` AS base ON base.`customer_id` = r.k;

-- diff of sync promo
WITH `tl_sup_0` AS (
  SELECT DISTINCT CAST(s.`customer_id` AS STRING) AS k FROM `raw`.`tickets` AS s WHERE s.`customer_id` IS NOT NULL AND s.`type` = 'complaint' AND CAST(s.`created_at` AS DATE) > DATE_ADD(DATE '2026-06-30', INTERVAL -14 DAY)
),
`tl_sup_1` AS (
  SELECT DISTINCT CAST(s.`customer_id` AS STRING) AS k FROM `raw`.`bounces` AS s WHERE s.`customer_id` IS NOT NULL AND s.`kind` = 'hard'
),
`tl_pref_latest` AS (
  SELECT k, ch, tp, g FROM (
  SELECT CAST(p.`customer_id` AS STRING) AS k, CAST(p.`channel` AS STRING) AS ch, CAST(p.`topic` AS STRING) AS tp, p.`opted_in` AS g,
    ROW_NUMBER() OVER (PARTITION BY p.`customer_id`, p.`channel`, p.`topic` ORDER BY p.`updated_at` DESC, CASE WHEN p.`opted_in` THEN 1 ELSE 0 END ASC) AS rn
  FROM `raw`.`preferences` AS p
  WHERE p.`customer_id` IS NOT NULL AND p.`channel` IS NOT NULL AND p.`opted_in` IS NOT NULL AND p.`updated_at` IS NOT NULL
) AS x WHERE rn = 1
),
`tl_pref_email_out` AS (
  SELECT k FROM `tl_pref_latest` WHERE ch = 'email' AND tp IS NULL AND NOT g
),
`tl_pref_email_promotions_in` AS (
  SELECT k FROM `tl_pref_latest` WHERE ch = 'email' AND (tp = 'promotions' OR tp IS NULL)
GROUP BY k
HAVING MAX(CASE WHEN tp = 'promotions' AND g THEN 1 ELSE 0 END) = 1 OR (MAX(CASE WHEN tp = 'promotions' THEN 1 ELSE 0 END) = 0 AND MAX(CASE WHEN tp IS NULL AND g THEN 1 ELSE 0 END) = 1)
),
mapped AS (
  SELECT `customer_id` AS `record_key`, `orders` AS `f_0`
  FROM `analytics`.`customers` AS `src`
  WHERE NOT ((EXISTS (SELECT 1 FROM `tl_sup_0` AS g WHERE g.k = CAST(`src`.`customer_id` AS STRING)) OR EXISTS (SELECT 1 FROM `tl_sup_1` AS g WHERE g.k = CAST(`src`.`customer_id` AS STRING))) OR (EXISTS (SELECT 1 FROM `tl_pref_email_out` AS g WHERE g.k = CAST(`src`.`customer_id` AS STRING)) OR NOT EXISTS (SELECT 1 FROM `tl_pref_email_promotions_in` AS g WHERE g.k = CAST(`src`.`customer_id` AS STRING))))
),
suppressed_rows AS (
  SELECT `customer_id` AS `record_key`
  FROM `analytics`.`customers` AS `src`
  WHERE ((EXISTS (SELECT 1 FROM `tl_sup_0` AS g WHERE g.k = CAST(`src`.`customer_id` AS STRING)) OR EXISTS (SELECT 1 FROM `tl_sup_1` AS g WHERE g.k = CAST(`src`.`customer_id` AS STRING))) OR (EXISTS (SELECT 1 FROM `tl_pref_email_out` AS g WHERE g.k = CAST(`src`.`customer_id` AS STRING)) OR NOT EXISTS (SELECT 1 FROM `tl_pref_email_promotions_in` AS g WHERE g.k = CAST(`src`.`customer_id` AS STRING))))
),
shared AS (
  SELECT `record_key` FROM mapped WHERE `record_key` IS NOT NULL GROUP BY `record_key` HAVING COUNT(*) > 1
),
keyed AS (
  SELECT `m`.*, TO_HEX(MD5('5:promo11:customer_id' || '6:orders' || COALESCE(CAST(LENGTH(CAST(`m`.`f_0` AS STRING)) AS STRING) || ':' || CAST(`m`.`f_0` AS STRING), '~'))) AS `record_hash`
  FROM mapped AS `m`
),
sendable_rows AS (
  SELECT `m`.*
  FROM keyed AS `m`
  LEFT JOIN (SELECT `record_key`, `record_hash`, `last_status` FROM (SELECT CAST(NULL AS STRING) AS `record_key`, CAST(NULL AS STRING) AS `record_hash`, CAST(NULL AS STRING) AS `destination_id`, CAST(NULL AS STRING) AS `retained`, CAST(NULL AS STRING) AS `last_status`, CAST(NULL AS TIMESTAMP) AS `last_attempt_at`, CAST(NULL AS STRING) AS `last_run_id`, CAST(NULL AS TIMESTAMP) AS `synced_at` FROM (SELECT 1 AS `one`) AS e WHERE 1 = 0) AS `h`) AS `s` ON `s`.`record_key` = `m`.`record_key`
  WHERE `m`.`record_key` IS NOT NULL AND NOT EXISTS (SELECT 1 FROM shared AS `k` WHERE `k`.`record_key` = `m`.`record_key`) AND (`s`.`record_key` IS NULL OR `s`.`record_hash` IS NULL OR `s`.`record_hash` <> `m`.`record_hash`)
)
SELECT CASE WHEN `r`.`record_key` IS NOT NULL THEN 'held_back' WHEN (`s`.`record_key` IS NULL OR `s`.`synced_at` IS NULL) THEN 'added' ELSE 'changed' END AS `op`,
    `m`.`record_key`, `m`.`record_hash`, `s`.`destination_id`, `s`.`retained`, `s`.`last_run_id` AS `prior_run`, COALESCE(`s`.`last_status` = 'in_doubt', FALSE) AS `in_doubt`, `m`.`f_0`
  FROM sendable_rows AS `m`
  LEFT JOIN (SELECT CAST(NULL AS STRING) AS `record_key`, CAST(NULL AS STRING) AS `record_hash`, CAST(NULL AS STRING) AS `destination_id`, CAST(NULL AS STRING) AS `retained`, CAST(NULL AS STRING) AS `last_status`, CAST(NULL AS TIMESTAMP) AS `last_attempt_at`, CAST(NULL AS STRING) AS `last_run_id`, CAST(NULL AS TIMESTAMP) AS `synced_at` FROM (SELECT 1 AS `one`) AS e WHERE 1 = 0) AS `s` ON `s`.`record_key` = `m`.`record_key`
  LEFT JOIN (SELECT CAST(NULL AS STRING) AS `record_key`, CAST(NULL AS STRING) AS `record_hash` FROM (SELECT 1 AS `one`) AS e WHERE 1 = 0) AS `r` ON `r`.`record_key` = `m`.`record_key` AND `r`.`record_hash` = `m`.`record_hash`
UNION ALL
SELECT CASE WHEN `m`.`record_key` IS NULL THEN 'null_key' ELSE 'duplicate_key' END,
    `m`.`record_key`, CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), FALSE, `m`.`f_0`
  FROM keyed AS `m`
  WHERE `m`.`record_key` IS NULL OR EXISTS (SELECT 1 FROM shared AS `k` WHERE `k`.`record_key` = `m`.`record_key`)
UNION ALL
SELECT 'suppressed', `record_key`, CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), FALSE, NULL
  FROM suppressed_rows;

-- diff of sync loyal_list
WITH `tl_sup_0` AS (
  SELECT DISTINCT CAST(s.`customer_id` AS STRING) AS k FROM `raw`.`tickets` AS s WHERE s.`customer_id` IS NOT NULL AND s.`type` = 'complaint' AND CAST(s.`created_at` AS DATE) > DATE_ADD(DATE '2026-06-30', INTERVAL -14 DAY)
),
`tl_sup_1` AS (
  SELECT DISTINCT CAST(s.`customer_id` AS STRING) AS k FROM `raw`.`bounces` AS s WHERE s.`customer_id` IS NOT NULL AND s.`kind` = 'hard'
),
`tl_pref_latest` AS (
  SELECT k, ch, tp, g FROM (
  SELECT CAST(p.`customer_id` AS STRING) AS k, CAST(p.`channel` AS STRING) AS ch, CAST(p.`topic` AS STRING) AS tp, p.`opted_in` AS g,
    ROW_NUMBER() OVER (PARTITION BY p.`customer_id`, p.`channel`, p.`topic` ORDER BY p.`updated_at` DESC, CASE WHEN p.`opted_in` THEN 1 ELSE 0 END ASC) AS rn
  FROM `raw`.`preferences` AS p
  WHERE p.`customer_id` IS NOT NULL AND p.`channel` IS NOT NULL AND p.`opted_in` IS NOT NULL AND p.`updated_at` IS NOT NULL
) AS x WHERE rn = 1
),
`tl_pref_email_out` AS (
  SELECT k FROM `tl_pref_latest` WHERE ch = 'email' AND tp IS NULL AND NOT g
),
mapped AS (
  SELECT `customer_id` AS `record_key`, CAST(`customer_id` AS STRING) AS `contact_key`
  FROM `analytics`.`segments` AS `src`
  WHERE `audience` = 'loyal' AND `audience_status` = 'member' AND `audience_group` <> 'holdout' AND NOT ((EXISTS (SELECT 1 FROM `tl_sup_0` AS g WHERE g.k = CAST(`src`.`customer_id` AS STRING)) OR EXISTS (SELECT 1 FROM `tl_sup_1` AS g WHERE g.k = CAST(`src`.`customer_id` AS STRING))) OR EXISTS (SELECT 1 FROM `tl_pref_email_out` AS g WHERE g.k = CAST(`src`.`customer_id` AS STRING)))
),
suppressed_rows AS (
  SELECT `customer_id` AS `record_key`
  FROM `analytics`.`segments` AS `src`
  WHERE `audience` = 'loyal' AND `audience_status` = 'member' AND `audience_group` <> 'holdout' AND ((EXISTS (SELECT 1 FROM `tl_sup_0` AS g WHERE g.k = CAST(`src`.`customer_id` AS STRING)) OR EXISTS (SELECT 1 FROM `tl_sup_1` AS g WHERE g.k = CAST(`src`.`customer_id` AS STRING))) OR EXISTS (SELECT 1 FROM `tl_pref_email_out` AS g WHERE g.k = CAST(`src`.`customer_id` AS STRING)))
),
shared AS (
  SELECT `record_key` FROM mapped WHERE `record_key` IS NOT NULL GROUP BY `record_key` HAVING COUNT(*) > 1
),
keyed AS (
  SELECT `m`.*, TO_HEX(MD5('5:loyal11:customer_id')) AS `record_hash`
  FROM mapped AS `m`
),
sendable_rows AS (
  SELECT `m`.*
  FROM keyed AS `m`
  LEFT JOIN (SELECT `record_key`, `record_hash`, `last_status` FROM (SELECT CAST(NULL AS STRING) AS `record_key`, CAST(NULL AS STRING) AS `record_hash`, CAST(NULL AS STRING) AS `destination_id`, CAST(NULL AS STRING) AS `retained`, CAST(NULL AS STRING) AS `last_status`, CAST(NULL AS TIMESTAMP) AS `last_attempt_at`, CAST(NULL AS STRING) AS `last_run_id`, CAST(NULL AS TIMESTAMP) AS `synced_at` FROM (SELECT 1 AS `one`) AS e WHERE 1 = 0) AS `h`) AS `s` ON `s`.`record_key` = `m`.`record_key`
  WHERE `m`.`record_key` IS NOT NULL AND NOT EXISTS (SELECT 1 FROM shared AS `k` WHERE `k`.`record_key` = `m`.`record_key`) AND (`s`.`record_key` IS NULL OR `s`.`record_hash` IS NULL OR `s`.`record_hash` <> `m`.`record_hash`)
)
SELECT CASE WHEN `r`.`record_key` IS NOT NULL THEN 'held_back' WHEN (`s`.`record_key` IS NULL OR `s`.`synced_at` IS NULL) THEN 'added' ELSE 'changed' END AS `op`,
    `m`.`record_key`, `m`.`record_hash`, `s`.`destination_id`, `s`.`retained`, `s`.`last_run_id` AS `prior_run`, COALESCE(`s`.`last_status` = 'in_doubt', FALSE) AS `in_doubt`, `m`.`contact_key`
  FROM sendable_rows AS `m`
  LEFT JOIN (SELECT CAST(NULL AS STRING) AS `record_key`, CAST(NULL AS STRING) AS `record_hash`, CAST(NULL AS STRING) AS `destination_id`, CAST(NULL AS STRING) AS `retained`, CAST(NULL AS STRING) AS `last_status`, CAST(NULL AS TIMESTAMP) AS `last_attempt_at`, CAST(NULL AS STRING) AS `last_run_id`, CAST(NULL AS TIMESTAMP) AS `synced_at` FROM (SELECT 1 AS `one`) AS e WHERE 1 = 0) AS `s` ON `s`.`record_key` = `m`.`record_key`
  LEFT JOIN (SELECT CAST(NULL AS STRING) AS `record_key`, CAST(NULL AS STRING) AS `record_hash` FROM (SELECT 1 AS `one`) AS e WHERE 1 = 0) AS `r` ON `r`.`record_key` = `m`.`record_key` AND `r`.`record_hash` = `m`.`record_hash`
UNION ALL
SELECT CASE WHEN `m`.`record_key` IS NULL THEN 'null_key' ELSE 'duplicate_key' END,
    `m`.`record_key`, CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), FALSE, `m`.`contact_key`
  FROM keyed AS `m`
  WHERE `m`.`record_key` IS NULL OR EXISTS (SELECT 1 FROM shared AS `k` WHERE `k`.`record_key` = `m`.`record_key`)
UNION ALL
SELECT 'removed', `s`.`record_key`, CAST(NULL AS STRING), `s`.`destination_id`, `s`.`retained`, `s`.`last_run_id`, FALSE, CAST(NULL AS STRING)
  FROM (SELECT CAST(NULL AS STRING) AS `record_key`, CAST(NULL AS STRING) AS `record_hash`, CAST(NULL AS STRING) AS `destination_id`, CAST(NULL AS STRING) AS `retained`, CAST(NULL AS STRING) AS `last_status`, CAST(NULL AS TIMESTAMP) AS `last_attempt_at`, CAST(NULL AS STRING) AS `last_run_id`, CAST(NULL AS TIMESTAMP) AS `synced_at` FROM (SELECT 1 AS `one`) AS e WHERE 1 = 0) AS `s`
  WHERE NOT EXISTS (SELECT 1 FROM mapped AS `m` WHERE `m`.`record_key` = `s`.`record_key`)
UNION ALL
SELECT 'suppressed', `record_key`, CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), FALSE, CAST(NULL AS STRING)
  FROM suppressed_rows;

-- diff of sync ads_list
WITH `tl_sup_0` AS (
  SELECT DISTINCT CAST(s.`customer_id` AS STRING) AS k FROM `raw`.`tickets` AS s WHERE s.`customer_id` IS NOT NULL AND s.`type` = 'complaint' AND CAST(s.`created_at` AS DATE) > DATE_ADD(DATE '2026-06-30', INTERVAL -14 DAY)
),
`tl_consent_latest` AS (
  SELECT k, pu, g FROM (
  SELECT CAST(p.`customer_id` AS STRING) AS k, CAST(p.`purpose` AS STRING) AS pu, p.`granted` AS g,
    ROW_NUMBER() OVER (PARTITION BY p.`customer_id`, p.`purpose` ORDER BY p.`recorded_at` DESC, CASE WHEN p.`granted` THEN 1 ELSE 0 END ASC) AS rn
  FROM `raw`.`consents` AS p
  WHERE p.`customer_id` IS NOT NULL AND p.`purpose` IS NOT NULL AND p.`granted` IS NOT NULL AND p.`recorded_at` IS NOT NULL
) AS x WHERE rn = 1
),
`tl_consent_in` AS (
  SELECT k FROM `tl_consent_latest` WHERE pu IN ('ads_personalisation') AND g
GROUP BY k
HAVING COUNT(*) = 1
),
mapped AS (
  SELECT `customer_id` AS `record_key`
  FROM `analytics`.`segments` AS `src`
  WHERE `audience` = 'ads_promo' AND `audience_status` = 'member' AND `audience_group` <> 'holdout' AND NOT (EXISTS (SELECT 1 FROM `tl_sup_0` AS g WHERE g.k = CAST(`src`.`customer_id` AS STRING)) OR NOT EXISTS (SELECT 1 FROM `tl_consent_in` AS g WHERE g.k = CAST(`src`.`customer_id` AS STRING)))
),
suppressed_rows AS (
  SELECT `customer_id` AS `record_key`
  FROM `analytics`.`segments` AS `src`
  WHERE `audience` = 'ads_promo' AND `audience_status` = 'member' AND `audience_group` <> 'holdout' AND EXISTS (SELECT 1 FROM `tl_sup_0` AS g WHERE g.k = CAST(`src`.`customer_id` AS STRING))
),
no_consent_rows AS (
  SELECT `customer_id` AS `record_key`
  FROM `analytics`.`segments` AS `src`
  WHERE `audience` = 'ads_promo' AND `audience_status` = 'member' AND `audience_group` <> 'holdout' AND NOT EXISTS (SELECT 1 FROM `tl_sup_0` AS g WHERE g.k = CAST(`src`.`customer_id` AS STRING)) AND NOT EXISTS (SELECT 1 FROM `tl_consent_in` AS g WHERE g.k = CAST(`src`.`customer_id` AS STRING))
),
shared AS (
  SELECT `record_key` FROM mapped WHERE `record_key` IS NOT NULL GROUP BY `record_key` HAVING COUNT(*) > 1
),
keyed AS (
  SELECT `m`.*, TO_HEX(MD5('3:ads11:customer_id')) AS `record_hash`
  FROM mapped AS `m`
),
sendable_rows AS (
  SELECT `m`.*
  FROM keyed AS `m`
  LEFT JOIN (SELECT `record_key`, `record_hash`, `last_status` FROM (SELECT CAST(NULL AS STRING) AS `record_key`, CAST(NULL AS STRING) AS `record_hash`, CAST(NULL AS STRING) AS `destination_id`, CAST(NULL AS STRING) AS `retained`, CAST(NULL AS STRING) AS `last_status`, CAST(NULL AS TIMESTAMP) AS `last_attempt_at`, CAST(NULL AS STRING) AS `last_run_id`, CAST(NULL AS TIMESTAMP) AS `synced_at` FROM (SELECT 1 AS `one`) AS e WHERE 1 = 0) AS `h`) AS `s` ON `s`.`record_key` = `m`.`record_key`
  WHERE `m`.`record_key` IS NOT NULL AND NOT EXISTS (SELECT 1 FROM shared AS `k` WHERE `k`.`record_key` = `m`.`record_key`) AND (`s`.`record_key` IS NULL OR `s`.`record_hash` IS NULL OR `s`.`record_hash` <> `m`.`record_hash`)
)
SELECT CASE WHEN `r`.`record_key` IS NOT NULL THEN 'held_back' WHEN (`s`.`record_key` IS NULL OR `s`.`synced_at` IS NULL) THEN 'added' ELSE 'changed' END AS `op`,
    `m`.`record_key`, `m`.`record_hash`, `s`.`destination_id`, `s`.`retained`, `s`.`last_run_id` AS `prior_run`, COALESCE(`s`.`last_status` = 'in_doubt', FALSE) AS `in_doubt`
  FROM sendable_rows AS `m`
  LEFT JOIN (SELECT CAST(NULL AS STRING) AS `record_key`, CAST(NULL AS STRING) AS `record_hash`, CAST(NULL AS STRING) AS `destination_id`, CAST(NULL AS STRING) AS `retained`, CAST(NULL AS STRING) AS `last_status`, CAST(NULL AS TIMESTAMP) AS `last_attempt_at`, CAST(NULL AS STRING) AS `last_run_id`, CAST(NULL AS TIMESTAMP) AS `synced_at` FROM (SELECT 1 AS `one`) AS e WHERE 1 = 0) AS `s` ON `s`.`record_key` = `m`.`record_key`
  LEFT JOIN (SELECT CAST(NULL AS STRING) AS `record_key`, CAST(NULL AS STRING) AS `record_hash` FROM (SELECT 1 AS `one`) AS e WHERE 1 = 0) AS `r` ON `r`.`record_key` = `m`.`record_key` AND `r`.`record_hash` = `m`.`record_hash`
UNION ALL
SELECT CASE WHEN `m`.`record_key` IS NULL THEN 'null_key' ELSE 'duplicate_key' END,
    `m`.`record_key`, CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), FALSE
  FROM keyed AS `m`
  WHERE `m`.`record_key` IS NULL OR EXISTS (SELECT 1 FROM shared AS `k` WHERE `k`.`record_key` = `m`.`record_key`)
UNION ALL
SELECT 'removed', `s`.`record_key`, CAST(NULL AS STRING), `s`.`destination_id`, `s`.`retained`, `s`.`last_run_id`, FALSE
  FROM (SELECT CAST(NULL AS STRING) AS `record_key`, CAST(NULL AS STRING) AS `record_hash`, CAST(NULL AS STRING) AS `destination_id`, CAST(NULL AS STRING) AS `retained`, CAST(NULL AS STRING) AS `last_status`, CAST(NULL AS TIMESTAMP) AS `last_attempt_at`, CAST(NULL AS STRING) AS `last_run_id`, CAST(NULL AS TIMESTAMP) AS `synced_at` FROM (SELECT 1 AS `one`) AS e WHERE 1 = 0) AS `s`
  WHERE NOT EXISTS (SELECT 1 FROM mapped AS `m` WHERE `m`.`record_key` = `s`.`record_key`)
UNION ALL
SELECT 'suppressed', `record_key`, CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), FALSE
  FROM suppressed_rows
UNION ALL
SELECT 'no_consent', `record_key`, CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), FALSE
  FROM no_consent_rows;
