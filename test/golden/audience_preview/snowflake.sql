-- the membership SELECT of segs
WITH "BASE" AS (
  SELECT b."CUSTOMER_ID", b."EMAIL", b."ORDERS", b."CONSENT_EMAIL"
  FROM "RAW"."CUSTOMERS" AS b
),
"A_0" AS (
  SELECT DISTINCT u.k FROM (
    SELECT base."CUSTOMER_ID" AS k FROM "BASE" AS base
    WHERE COALESCE(base."ORDERS" >= 1, FALSE)
  ) AS u
  WHERE u.k IS NOT NULL
),
"A_1" AS (
  SELECT DISTINCT u.k FROM (
    SELECT base."CUSTOMER_ID" AS k FROM "BASE" AS base
    WHERE COALESCE(base."ORDERS" >= 3, FALSE)
  ) AS u
  WHERE u.k IS NOT NULL
),
"ELIGIBLE" AS (
  SELECT 'buyers' AS audience, 'email' AS channel, 0 AS priority, FALSE AS exempt, k FROM "A_0"
  UNION ALL
  SELECT 'vip' AS audience, 'email' AS channel, 5 AS priority, FALSE AS exempt, k FROM "A_1"
),
"JUDGED" AS (
  SELECT e.audience, e.channel, e.priority, e.exempt, e.k, CASE e.audience
    WHEN 'buyers' THEN COALESCE(base."CONSENT_EMAIL", FALSE)
    WHEN 'vip' THEN COALESCE(base."CONSENT_EMAIL", FALSE)
  END AS consented, FALSE AS suppressed
  FROM "ELIGIBLE" AS e JOIN "BASE" AS base ON base."CUSTOMER_ID" = e.k
),
"RANKED" AS (
  SELECT j.*,
    ROW_NUMBER() OVER (PARTITION BY j.k, j.channel, j.consented, j.exempt, j.suppressed ORDER BY j.priority DESC, j.audience) AS pressure_rank,
    MOD(TO_NUMBER(SUBSTR(MD5(CAST(j.k AS VARCHAR) || '|' || j.audience || '|' || 'tideline'), 1, 8), 'XXXXXXXX'), 10000) AS bucket
  FROM "JUDGED" AS j
)
SELECT
  r.audience AS "AUDIENCE",
  CASE WHEN r.suppressed THEN 'suppressed' WHEN NOT r.consented THEN 'no_consent' WHEN COALESCE(NOT r.exempt AND r.pressure_rank > CASE r.channel WHEN 'email' THEN 1 END, FALSE) THEN 'capped' ELSE 'member' END AS "AUDIENCE_STATUS",
  CASE r.audience
    WHEN 'buyers' THEN CASE WHEN r.bucket < 2000 THEN 'holdout' WHEN r.bucket < 6000 THEN 'a' WHEN r.bucket < 10000 THEN 'b' ELSE 'treatment' END
    ELSE 'treatment' END AS "AUDIENCE_GROUP",
  r.channel AS "AUDIENCE_CHANNEL",
  r.priority AS "AUDIENCE_PRIORITY",
  CASE WHEN r.suppressed OR NOT r.consented THEN CAST(NULL AS VARCHAR) WHEN COALESCE(NOT r.exempt AND r.pressure_rank > CASE r.channel WHEN 'email' THEN 1 END, FALSE) THEN CASE r.channel WHEN 'email' THEN 'email ≤ 1 audience at once' END END AS "AUDIENCE_CAPPED_BY",
  base.*
FROM "RANKED" AS r
JOIN "BASE" AS base ON base."CUSTOMER_ID" = r.k;

-- the membership SELECT of promos
WITH "BASE" AS (
  SELECT b."CUSTOMER_ID", b."EMAIL", b."ORDERS", b."CONSENT_EMAIL"
  FROM "RAW"."CUSTOMERS" AS b
),
"A_0" AS (
  SELECT DISTINCT u.k FROM (
    SELECT base."CUSTOMER_ID" AS k FROM "BASE" AS base
    WHERE COALESCE(base."EMAIL" IS NOT NULL, FALSE)
  ) AS u
  WHERE u.k IS NOT NULL
),
"ELIGIBLE" AS (
  SELECT 'newsletter' AS audience, 'email' AS channel, 0 AS priority, FALSE AS exempt, k FROM "A_0"
),
"JUDGED" AS (
  SELECT e.audience, e.channel, e.priority, e.exempt, e.k, CASE e.audience
    WHEN 'newsletter' THEN COALESCE(base."CONSENT_EMAIL", FALSE)
  END AS consented, FALSE AS suppressed
  FROM "ELIGIBLE" AS e JOIN "BASE" AS base ON base."CUSTOMER_ID" = e.k
),
"RANKED" AS (
  SELECT j.*,
    ROW_NUMBER() OVER (PARTITION BY j.k, j.channel, j.consented, j.exempt, j.suppressed ORDER BY j.priority DESC, j.audience) AS pressure_rank,
    MOD(TO_NUMBER(SUBSTR(MD5(CAST(j.k AS VARCHAR) || '|' || j.audience || '|' || 'tideline'), 1, 8), 'XXXXXXXX'), 10000) AS bucket
  FROM "JUDGED" AS j
)
SELECT
  r.audience AS "AUDIENCE",
  CASE WHEN r.suppressed THEN 'suppressed' WHEN NOT r.consented THEN 'no_consent' ELSE 'member' END AS "AUDIENCE_STATUS",
  'treatment' AS "AUDIENCE_GROUP",
  r.channel AS "AUDIENCE_CHANNEL",
  r.priority AS "AUDIENCE_PRIORITY",
  CAST(NULL AS VARCHAR) AS "AUDIENCE_CAPPED_BY",
  base.*
FROM "RANKED" AS r
JOIN "BASE" AS base ON base."CUSTOMER_ID" = r.k;

WITH m AS (
  SELECT * FROM (
    -- the membership SELECT of segs, above
  ) AS q
),
t AS (
  SELECT DISTINCT m."CUSTOMER_ID" AS k FROM m WHERE m."AUDIENCE" = 'buyers' AND m."AUDIENCE_STATUS" = 'member'
)
SELECT m."AUDIENCE", m."AUDIENCE_STATUS", m."AUDIENCE_GROUP", m."AUDIENCE_CAPPED_BY", COUNT(*) AS "N", COUNT(t.k) AS "SHARED"
FROM m LEFT JOIN t ON t.k = m."CUSTOMER_ID"
GROUP BY m."AUDIENCE", m."AUDIENCE_STATUS", m."AUDIENCE_GROUP", m."AUDIENCE_CAPPED_BY";

WITH t AS (
  SELECT DISTINCT CAST(q."CUSTOMER_ID" AS VARCHAR) AS k FROM (
    -- the membership SELECT of segs, above
  ) AS q
  WHERE q."AUDIENCE" = 'buyers' AND q."AUDIENCE_STATUS" = 'member'
),
o AS (
  SELECT * FROM (
    -- the membership SELECT of promos, above
  ) AS p
)
SELECT o."AUDIENCE" AS "AUDIENCE", COUNT(*) AS "SHARED"
FROM o JOIN t ON t.k = CAST(o."CUSTOMER_ID" AS VARCHAR)
WHERE o."AUDIENCE_STATUS" = 'member'
GROUP BY o."AUDIENCE";

SELECT * FROM (
    -- the membership SELECT of segs, above
  ) AS q
WHERE q."AUDIENCE" = 'buyers' AND q."AUDIENCE_STATUS" = 'member'
ORDER BY q."CUSTOMER_ID"
LIMIT 10;

SELECT * FROM "ANALYTICS"."SEGS_REPORT" ORDER BY audience;

SELECT COUNT(*) AS "N" FROM "ANALYTICS"."SEGS_HISTORY" AS h WHERE h."ENTERED_AT" < (SELECT MAX(r."BUILT_AT") FROM "ANALYTICS"."SEGS_REPORT" AS r);
