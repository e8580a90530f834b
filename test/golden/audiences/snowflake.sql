-- segments (audiences) for target snowflake (snowflake)
-- Built into "ANALYTICS"."SEGMENTS__TL_BUILD", then swapped in by an atomic replace.

DROP TABLE IF EXISTS "ANALYTICS"."SEGMENTS__TL_BUILD";

-- memberships
CREATE TABLE "ANALYTICS"."SEGMENTS__TL_BUILD" AS
WITH "BASE" AS (
  SELECT b."CUSTOMER_ID", b."EMAIL", b."PHONE", b."ORDER_COUNT", b."FIRST_ORDER_AT", b."RFM_SEGMENT", b."PREDICTED_CLV", b."CONSENT_EMAIL", b."CONSENT_ADS", b."CONSENT_PHONE"
  FROM "RAW"."CUSTOMERS" AS b
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
"ELIGIBLE" AS (
  SELECT 'lookalike_seed' AS audience, 'ads' AS channel, 0 AS priority, k FROM "A_0"
  UNION ALL
  SELECT 'email_non_openers' AS audience, 'email' AS channel, 1 AS priority, k FROM "A_1"
  UNION ALL
  SELECT 'current_customers' AS audience, 'ads' AS channel, 0 AS priority, k FROM "A_2"
  UNION ALL
  SELECT 'cross_sell_shoes' AS audience, 'email' AS channel, 3 AS priority, k FROM "A_3"
  UNION ALL
  SELECT 'winback' AS audience, 'phone' AS channel, 0 AS priority, k FROM "A_4"
  UNION ALL
  SELECT 'abandoned_cart' AS audience, 'email' AS channel, 10 AS priority, k FROM "A_5"
  UNION ALL
  SELECT 'second_purchase' AS audience, 'email' AS channel, 5 AS priority, k FROM "A_6"
  UNION ALL
  SELECT 'retarget' AS audience, 'crm' AS channel, 0 AS priority, k FROM "A_7"
  UNION ALL
  SELECT 'not_champions_with_orders' AS audience, 'crm' AS channel, 0 AS priority, k FROM "A_8"
),
"JUDGED" AS (
  SELECT e.audience, e.channel, e.priority, e.k, CASE e.audience
    WHEN 'lookalike_seed' THEN COALESCE(base."CONSENT_ADS", FALSE)
    WHEN 'email_non_openers' THEN COALESCE(base."CONSENT_EMAIL", FALSE)
    WHEN 'current_customers' THEN TRUE
    WHEN 'cross_sell_shoes' THEN COALESCE(base."CONSENT_EMAIL", FALSE)
    WHEN 'winback' THEN COALESCE(base."CONSENT_PHONE", FALSE)
    WHEN 'abandoned_cart' THEN COALESCE(base."CONSENT_EMAIL", FALSE)
    WHEN 'second_purchase' THEN COALESCE(base."CONSENT_EMAIL", FALSE)
    WHEN 'retarget' THEN TRUE
    WHEN 'not_champions_with_orders' THEN TRUE
  END AS consented
  FROM "ELIGIBLE" AS e JOIN "BASE" AS base ON base."CUSTOMER_ID" = e.k
),
"RANKED" AS (
  SELECT j.*,
    ROW_NUMBER() OVER (PARTITION BY j.k, j.channel, j.consented ORDER BY j.priority DESC, j.audience) AS pressure_rank,
    MOD(TO_NUMBER(SUBSTR(MD5(CAST(j.k AS VARCHAR) || '|' || j.audience || '|' || 'test-salt'), 1, 8), 'XXXXXXXX'), 10000) AS bucket
  FROM "JUDGED" AS j
)
SELECT
  r.audience AS "AUDIENCE",
  CASE WHEN NOT r.consented THEN 'no_consent' WHEN r.pressure_rank > CASE r.channel WHEN 'email' THEN 1 END THEN 'capped' ELSE 'member' END AS "AUDIENCE_STATUS",
  CASE r.audience
    WHEN 'second_purchase' THEN CASE WHEN r.bucket < 5000 THEN 'holdout' ELSE 'treatment' END
    ELSE 'treatment' END AS "AUDIENCE_GROUP",
  r.channel AS "AUDIENCE_CHANNEL",
  r.priority AS "AUDIENCE_PRIORITY",
  base.*
FROM "RANKED" AS r
JOIN "BASE" AS base ON base."CUSTOMER_ID" = r.k;

-- swap in
CREATE OR REPLACE TABLE "ANALYTICS"."SEGMENTS" CLONE "ANALYTICS"."SEGMENTS__TL_BUILD";
DROP TABLE IF EXISTS "ANALYTICS"."SEGMENTS__TL_BUILD";
