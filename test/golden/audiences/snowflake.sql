-- segments (audiences) for target snowflake (snowflake)
-- Built into "ANALYTICS__TL_WORK"."SEGMENTS__TL_BUILD", "ANALYTICS__TL_WORK"."SEGMENTS__TL_HISTORY", "ANALYTICS__TL_WORK"."SEGMENTS__TL_REPORT", then swapped in by atomic replaces, the model last.

DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."SEGMENTS__TL_BUILD";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."SEGMENTS__TL_HISTORY";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."SEGMENTS__TL_REPORT";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."SEGMENTS__TL_MEMBERS";

-- memberships
CREATE TABLE "ANALYTICS__TL_WORK"."SEGMENTS__TL_MEMBERS" AS
WITH "BASE" AS (
  SELECT b."CUSTOMER_ID", b."EMAIL", b."PHONE", b."ORDER_COUNT", b."FIRST_ORDER_AT", b."RFM_SEGMENT", b."PREDICTED_CLV", b."CONSENT_EMAIL", b."CONSENT_ADS", b."CONSENT_PHONE", j0."CHURN_RISK", j0."LOYALTY_TIER"
  FROM "RAW"."CUSTOMERS" AS b
  LEFT JOIN "RAW"."SCORES" AS j0 ON j0."CUSTOMER_ID" = b."CUSTOMER_ID"
),
"P_0_0" AS (
  SELECT base."CUSTOMER_ID" AS k, ROW_NUMBER() OVER (ORDER BY base."PREDICTED_CLV" DESC, base."CUSTOMER_ID") AS rn, COUNT(*) OVER () AS n
  FROM "BASE" AS base
  WHERE base."PREDICTED_CLV" IS NOT NULL
),
"E_1_0" AS (
  SELECT ev."CUSTOMER_ID" AS k, COUNT(*) AS n
  FROM "RAW"."EMAILS" AS ev
  WHERE CAST(ev."OCCURRED_AT" AS DATE) <= DATE '2026-06-30'
    AND CAST(ev."OCCURRED_AT" AS DATE) > DATEADD(DAY, -30, DATE '2026-06-30')
    AND ev."EVENT_TYPE" = 'delivered'
  GROUP BY ev."CUSTOMER_ID"
),
"E_1_1" AS (
  SELECT ev."CUSTOMER_ID" AS k, COUNT(*) AS n
  FROM "RAW"."EMAILS" AS ev
  WHERE CAST(ev."OCCURRED_AT" AS DATE) <= DATE '2026-06-30'
    AND CAST(ev."OCCURRED_AT" AS DATE) > DATEADD(DAY, -30, DATE '2026-06-30')
    AND ev."EVENT_TYPE" = 'opened'
    AND ev."MACHINE_OPEN" = FALSE
  GROUP BY ev."CUSTOMER_ID"
),
"E_2" AS (
  SELECT ev."CUSTOMER_ID" AS k, COUNT(*) AS n
  FROM "RAW"."ORDERS" AS ev
  WHERE CAST(ev."ORDERED_AT" AS DATE) <= DATE '2026-06-30'
    AND CAST(ev."ORDERED_AT" AS DATE) > DATEADD(MONTH, -12, DATE '2026-06-30')
  GROUP BY ev."CUSTOMER_ID"
),
"E_3_0" AS (
  SELECT ev."CUSTOMER_ID" AS k, COUNT(*) AS n
  FROM "RAW"."ORDER_LINES" AS ev
  WHERE CAST(ev."ORDERED_AT" AS DATE) <= DATE '2026-06-30'
    AND ev."CATEGORY" = 'Womenswear'
  GROUP BY ev."CUSTOMER_ID"
),
"E_3_1" AS (
  SELECT ev."CUSTOMER_ID" AS k, COUNT(*) AS n
  FROM "RAW"."ORDER_LINES" AS ev
  WHERE CAST(ev."ORDERED_AT" AS DATE) <= DATE '2026-06-30'
    AND ev."CATEGORY" = 'Shoes'
  GROUP BY ev."CUSTOMER_ID"
),
"E_5" AS (
  SELECT ev."CUSTOMER_ID" AS k, COUNT(*) AS n
  FROM "RAW"."WEB" AS ev
  WHERE CAST(ev."OCCURRED_AT" AS DATE) <= DATE '2026-06-30'
    AND CAST(ev."OCCURRED_AT" AS DATE) > DATEADD(DAY, -3, DATE '2026-06-30')
    AND ev."EVENT_TYPE" = 'add_to_cart'
    AND NOT EXISTS (SELECT 1 FROM "RAW"."ORDERS" AS nx WHERE nx."CUSTOMER_ID" = ev."CUSTOMER_ID" AND CAST(nx."ORDERED_AT" AS TIMESTAMP_NTZ) > CAST(ev."OCCURRED_AT" AS TIMESTAMP_NTZ) AND CAST(CAST(nx."ORDERED_AT" AS TIMESTAMP_NTZ) AS DATE) <= DATE '2026-06-30')
  GROUP BY ev."CUSTOMER_ID"
),
"A_0" AS (
  SELECT DISTINCT u.k FROM (
    SELECT base."CUSTOMER_ID" AS k FROM "BASE" AS base
    LEFT JOIN "P_0_0" ON "P_0_0".k = base."CUSTOMER_ID"
    WHERE (COALESCE("P_0_0".rn * 10000 <= "P_0_0".n * 2000, FALSE) OR COALESCE(base."RFM_SEGMENT" = 'Champions', FALSE))
  ) AS u
  WHERE u.k IS NOT NULL
),
"A_1" AS (
  SELECT DISTINCT u.k FROM (
    SELECT base."CUSTOMER_ID" AS k FROM "BASE" AS base
    LEFT JOIN "E_1_0" ON "E_1_0".k = base."CUSTOMER_ID"
    LEFT JOIN "E_1_1" ON "E_1_1".k = base."CUSTOMER_ID"
    WHERE (COALESCE("E_1_0".n, 0) >= 3 AND COALESCE("E_1_1".n, 0) = 0)
  ) AS u
  WHERE u.k IS NOT NULL
),
"A_2" AS (
  SELECT DISTINCT u.k FROM (
    SELECT base."CUSTOMER_ID" AS k FROM "BASE" AS base
    LEFT JOIN "E_2" ON "E_2".k = base."CUSTOMER_ID"
    WHERE COALESCE("E_2".n, 0) >= 1
  ) AS u
  WHERE u.k IS NOT NULL
),
"A_3" AS (
  SELECT DISTINCT u.k FROM (
    SELECT base."CUSTOMER_ID" AS k FROM "BASE" AS base
    LEFT JOIN "E_3_0" ON "E_3_0".k = base."CUSTOMER_ID"
    LEFT JOIN "E_3_1" ON "E_3_1".k = base."CUSTOMER_ID"
    WHERE (COALESCE("E_3_0".n, 0) >= 1 AND COALESCE("E_3_1".n, 0) = 0 AND COALESCE(CAST(base."FIRST_ORDER_AT" AS DATE) BETWEEN DATEADD(DAY, -45, DATE '2026-06-30') AND DATEADD(DAY, -30, DATE '2026-06-30'), FALSE))
  ) AS u
  WHERE u.k IS NOT NULL
),
"A_4" AS (
  SELECT DISTINCT u.k FROM (
    SELECT base."CUSTOMER_ID" AS k FROM "BASE" AS base
    WHERE (COALESCE(base."RFM_SEGMENT" IN ('At Risk', 'Can''t Lose Them'), FALSE) AND COALESCE(base."PREDICTED_CLV" > 300, FALSE) AND COALESCE(base."PHONE" IS NOT NULL, FALSE))
  ) AS u
  WHERE u.k IS NOT NULL
),
"A_5" AS (
  SELECT DISTINCT u.k FROM (
    SELECT base."CUSTOMER_ID" AS k FROM "BASE" AS base
    LEFT JOIN "E_5" ON "E_5".k = base."CUSTOMER_ID"
    WHERE COALESCE("E_5".n, 0) >= 1
  ) AS u
  WHERE u.k IS NOT NULL
),
"A_6" AS (
  SELECT DISTINCT u.k FROM (
    SELECT base."CUSTOMER_ID" AS k FROM "BASE" AS base
    WHERE (COALESCE(base."ORDER_COUNT" = 1, FALSE) AND COALESCE(CAST(base."FIRST_ORDER_AT" AS DATE) BETWEEN DATEADD(DAY, -45, DATE '2026-06-30') AND DATEADD(DAY, -30, DATE '2026-06-30'), FALSE))
  ) AS u
  WHERE u.k IS NOT NULL
),
"A_7" AS (
  SELECT DISTINCT u.k FROM (
    SELECT k FROM "A_1"
    UNION ALL
    SELECT k FROM "A_5"
  ) AS u
  WHERE u.k IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM "A_6" AS x WHERE x.k = u.k)
),
"A_8" AS (
  SELECT DISTINCT u.k FROM (
    SELECT base."CUSTOMER_ID" AS k FROM "BASE" AS base
    WHERE (NOT COALESCE(base."RFM_SEGMENT" = 'Champions', FALSE) AND EXISTS (SELECT 1 FROM "A_2" AS m WHERE m.k = base."CUSTOMER_ID"))
  ) AS u
  WHERE u.k IS NOT NULL
),
"A_9" AS (
  SELECT DISTINCT u.k FROM (
    SELECT base."CUSTOMER_ID" AS k FROM "BASE" AS base
    WHERE (COALESCE(base."CHURN_RISK" > 0.5, FALSE) AND COALESCE(base."LOYALTY_TIER" = 'gold', FALSE))
  ) AS u
  WHERE u.k IS NOT NULL
),
"A_10" AS (
  SELECT DISTINCT u.k FROM (
    SELECT base."CUSTOMER_ID" AS k FROM "BASE" AS base
    WHERE COALESCE(base."LOYALTY_TIER" IS NULL, FALSE)
  ) AS u
  WHERE u.k IS NOT NULL
),
"A_11" AS (
  SELECT DISTINCT u.k FROM (
    SELECT base."CUSTOMER_ID" AS k FROM "BASE" AS base
    WHERE COALESCE(base."ORDER_COUNT" >= 5, FALSE)
  ) AS u
  WHERE u.k IS NOT NULL
),
"ELIGIBLE" AS (
  SELECT 'lookalike_seed' AS audience, 'ads' AS channel, 0 AS priority, FALSE AS exempt, k FROM "A_0"
  UNION ALL
  SELECT 'email_non_openers' AS audience, 'email' AS channel, 1 AS priority, FALSE AS exempt, k FROM "A_1"
  UNION ALL
  SELECT 'current_customers' AS audience, 'ads' AS channel, 0 AS priority, FALSE AS exempt, k FROM "A_2"
  UNION ALL
  SELECT 'cross_sell_shoes' AS audience, 'email' AS channel, 3 AS priority, FALSE AS exempt, k FROM "A_3"
  UNION ALL
  SELECT 'winback' AS audience, 'phone' AS channel, 0 AS priority, FALSE AS exempt, k FROM "A_4"
  UNION ALL
  SELECT 'abandoned_cart' AS audience, 'email' AS channel, 10 AS priority, FALSE AS exempt, k FROM "A_5"
  UNION ALL
  SELECT 'second_purchase' AS audience, 'email' AS channel, 5 AS priority, FALSE AS exempt, k FROM "A_6"
  UNION ALL
  SELECT 'retarget' AS audience, 'crm' AS channel, 0 AS priority, FALSE AS exempt, k FROM "A_7"
  UNION ALL
  SELECT 'not_champions_with_orders' AS audience, 'crm' AS channel, 0 AS priority, FALSE AS exempt, k FROM "A_8"
  UNION ALL
  SELECT 'churning_gold' AS audience, 'crm' AS channel, 0 AS priority, FALSE AS exempt, k FROM "A_9"
  UNION ALL
  SELECT 'unscored' AS audience, 'crm' AS channel, 0 AS priority, FALSE AS exempt, k FROM "A_10"
  UNION ALL
  SELECT 'email_exclusion' AS audience, 'email' AS channel, 100 AS priority, TRUE AS exempt, k FROM "A_11"
),
"JUDGED" AS (
  SELECT e.audience, e.channel, e.priority, e.exempt, e.k, CASE e.audience
    WHEN 'lookalike_seed' THEN COALESCE(base."CONSENT_ADS", FALSE)
    WHEN 'email_non_openers' THEN COALESCE(base."CONSENT_EMAIL", FALSE)
    WHEN 'current_customers' THEN TRUE
    WHEN 'cross_sell_shoes' THEN COALESCE(base."CONSENT_EMAIL", FALSE)
    WHEN 'winback' THEN COALESCE(base."CONSENT_PHONE", FALSE)
    WHEN 'abandoned_cart' THEN COALESCE(base."CONSENT_EMAIL", FALSE)
    WHEN 'second_purchase' THEN COALESCE(base."CONSENT_EMAIL", FALSE)
    WHEN 'retarget' THEN TRUE
    WHEN 'not_champions_with_orders' THEN TRUE
    WHEN 'churning_gold' THEN TRUE
    WHEN 'unscored' THEN TRUE
    WHEN 'email_exclusion' THEN TRUE
  END AS consented, FALSE AS suppressed
  FROM "ELIGIBLE" AS e JOIN "BASE" AS base ON base."CUSTOMER_ID" = e.k
),
"RANKED" AS (
  SELECT j.*,
    ROW_NUMBER() OVER (PARTITION BY j.k, j.channel, j.consented, j.exempt, j.suppressed ORDER BY j.priority DESC, j.audience) AS pressure_rank,
    MOD(TO_NUMBER(SUBSTR(MD5(CAST(j.k AS VARCHAR) || '|' || j.audience || '|' || 'test-salt'), 1, 8), 'XXXXXXXX'), 10000) AS bucket
  FROM "JUDGED" AS j
)
SELECT
  r.audience AS "AUDIENCE",
  CASE WHEN r.suppressed THEN 'suppressed' WHEN NOT r.consented THEN 'no_consent' WHEN COALESCE(NOT r.exempt AND r.pressure_rank > CASE r.channel WHEN 'email' THEN 1 END, FALSE) THEN 'capped' ELSE 'member' END AS "AUDIENCE_STATUS",
  CASE r.audience
    WHEN 'second_purchase' THEN CASE WHEN r.bucket < 5000 THEN 'holdout' ELSE 'treatment' END
    ELSE 'treatment' END AS "AUDIENCE_GROUP",
  r.channel AS "AUDIENCE_CHANNEL",
  r.priority AS "AUDIENCE_PRIORITY",
  CASE WHEN r.suppressed OR NOT r.consented THEN CAST(NULL AS VARCHAR) WHEN COALESCE(NOT r.exempt AND r.pressure_rank > CASE r.channel WHEN 'email' THEN 1 END, FALSE) THEN CASE r.channel WHEN 'email' THEN 'email ≤ 1 audience at once' END END AS "AUDIENCE_CAPPED_BY",
  base.*
FROM "RANKED" AS r
JOIN "BASE" AS base ON base."CUSTOMER_ID" = r.k;

-- "history": :run_time below stands for the time the build reaches this step (UTC)

  -- membership history, when the previous build left "ANALYTICS"."SEGMENTS_HISTORY" (the build fails if it lacks any of audience, customer_id, audience_group, entered_at, exited_at):
  CREATE TABLE "ANALYTICS__TL_WORK"."SEGMENTS__TL_HISTORY" AS
  SELECT p.audience, p."CUSTOMER_ID", p.audience_group, p.entered_at, p.exited_at FROM "ANALYTICS"."SEGMENTS_HISTORY" AS p WHERE p.exited_at IS NOT NULL
  UNION ALL
  SELECT p.audience, p."CUSTOMER_ID", p.audience_group, p.entered_at, CAST(NULL AS TIMESTAMP_NTZ) FROM "ANALYTICS"."SEGMENTS_HISTORY" AS p WHERE p.exited_at IS NULL AND EXISTS (SELECT 1 FROM "ANALYTICS__TL_WORK"."SEGMENTS__TL_MEMBERS" AS m WHERE m.audience = p.audience AND m."CUSTOMER_ID" = p."CUSTOMER_ID" AND m.audience_status = 'member')
  UNION ALL
  SELECT p.audience, p."CUSTOMER_ID", p.audience_group, p.entered_at, :run_time FROM "ANALYTICS"."SEGMENTS_HISTORY" AS p WHERE p.exited_at IS NULL AND NOT EXISTS (SELECT 1 FROM "ANALYTICS__TL_WORK"."SEGMENTS__TL_MEMBERS" AS m WHERE m.audience = p.audience AND m."CUSTOMER_ID" = p."CUSTOMER_ID" AND m.audience_status = 'member')
  UNION ALL
  SELECT m.audience, m."CUSTOMER_ID", m.audience_group, :run_time AS entered_at, CAST(NULL AS TIMESTAMP_NTZ) AS exited_at
  FROM "ANALYTICS__TL_WORK"."SEGMENTS__TL_MEMBERS" AS m
  WHERE m.audience_status = 'member'
    AND NOT EXISTS (SELECT 1 FROM "ANALYTICS"."SEGMENTS_HISTORY" AS p WHERE p.exited_at IS NULL AND p.audience = m.audience AND p."CUSTOMER_ID" = m."CUSTOMER_ID");

  -- membership history, on the first build or a full refresh:
  CREATE TABLE "ANALYTICS__TL_WORK"."SEGMENTS__TL_HISTORY" AS
  SELECT m.audience, m."CUSTOMER_ID", m.audience_group, :run_time AS entered_at, CAST(NULL AS TIMESTAMP_NTZ) AS exited_at
  FROM "ANALYTICS__TL_WORK"."SEGMENTS__TL_MEMBERS" AS m
  WHERE m.audience_status = 'member';

  -- memberships with the time each member entered
  CREATE TABLE "ANALYTICS__TL_WORK"."SEGMENTS__TL_BUILD" AS
  SELECT m."AUDIENCE", m."AUDIENCE_STATUS", m."AUDIENCE_GROUP", m."AUDIENCE_CHANNEL", m."AUDIENCE_PRIORITY", m."AUDIENCE_CAPPED_BY", h.entered_at AS "AUDIENCE_ENTERED_AT", m."CUSTOMER_ID", m."EMAIL", m."PHONE", m."ORDER_COUNT", m."FIRST_ORDER_AT", m."RFM_SEGMENT", m."PREDICTED_CLV", m."CONSENT_EMAIL", m."CONSENT_ADS", m."CONSENT_PHONE", m."CHURN_RISK", m."LOYALTY_TIER"
  FROM "ANALYTICS__TL_WORK"."SEGMENTS__TL_MEMBERS" AS m
  LEFT JOIN "ANALYTICS__TL_WORK"."SEGMENTS__TL_HISTORY" AS h ON h.audience = m.audience AND h."CUSTOMER_ID" = m."CUSTOMER_ID" AND h.exited_at IS NULL;

  -- sizes and moves of this run
  CREATE TABLE "ANALYTICS__TL_WORK"."SEGMENTS__TL_REPORT" AS
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
    FROM "ANALYTICS__TL_WORK"."SEGMENTS__TL_MEMBERS" GROUP BY audience
  ),
  moves AS (
    SELECT audience, SUM(CASE WHEN entered_at = :run_time THEN 1 ELSE 0 END) AS entered, SUM(CASE WHEN exited_at = :run_time THEN 1 ELSE 0 END) AS exited
    FROM "ANALYTICS__TL_WORK"."SEGMENTS__TL_HISTORY" GROUP BY audience
  )
  SELECT n.audience, n.channel, :run_time AS built_at,
    COALESCE(s.members, 0) AS members, COALESCE(s.holdout, 0) AS holdout, COALESCE(s.no_consent, 0) AS no_consent,
    COALESCE(s.capped, 0) AS capped, COALESCE(s.suppressed, 0) AS suppressed, COALESCE(v.entered, 0) AS entered, COALESCE(v.exited, 0) AS exited
  FROM names AS n
  LEFT JOIN sizes AS s ON s.audience = n.audience
  LEFT JOIN moves AS v ON v.audience = n.audience;

-- end "history"

-- swap in
CREATE OR REPLACE TABLE "ANALYTICS"."SEGMENTS_HISTORY" CLONE "ANALYTICS__TL_WORK"."SEGMENTS__TL_HISTORY";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."SEGMENTS__TL_HISTORY";
CREATE OR REPLACE TABLE "ANALYTICS"."SEGMENTS_REPORT" CLONE "ANALYTICS__TL_WORK"."SEGMENTS__TL_REPORT";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."SEGMENTS__TL_REPORT";
CREATE OR REPLACE TABLE "ANALYTICS"."SEGMENTS" CLONE "ANALYTICS__TL_WORK"."SEGMENTS__TL_BUILD";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."SEGMENTS__TL_BUILD";

-- clean up
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."SEGMENTS__TL_MEMBERS";
