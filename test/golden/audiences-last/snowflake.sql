-- engagement (audiences) for target snowflake (snowflake)
-- Built into "ANALYTICS__TL_WORK"."ENGAGEMENT__TL_BUILD", "ANALYTICS__TL_WORK"."ENGAGEMENT__TL_HISTORY", "ANALYTICS__TL_WORK"."ENGAGEMENT__TL_REPORT", then swapped in by atomic replaces, the model last.

DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."ENGAGEMENT__TL_BUILD";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."ENGAGEMENT__TL_HISTORY";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."ENGAGEMENT__TL_REPORT";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."ENGAGEMENT__TL_MEMBERS";

-- memberships
CREATE TABLE "ANALYTICS__TL_WORK"."ENGAGEMENT__TL_MEMBERS" AS
WITH "BASE" AS (
  SELECT b."CUSTOMER_ID", b."EMAIL"
  FROM "RAW"."PEOPLE" AS b
),
"E_0_LAST" AS (
  SELECT * FROM (
    SELECT ev.*, ROW_NUMBER() OVER (PARTITION BY ev."CUSTOMER_ID" ORDER BY ev."OCCURRED_AT" DESC, ev."EVENT_ID" DESC NULLS LAST) AS "TIDELINE_RECENCY"
    FROM "RAW"."EMAIL_EVENTS" AS ev
    WHERE CAST(ev."OCCURRED_AT" AS DATE) <= DATE '2026-06-30'
      AND ev."EVENT_TYPE" = 'delivered'
  ) AS ev
  WHERE ev."TIDELINE_RECENCY" <= 3
),
"E_0" AS (
  SELECT t.k, t.taken, COALESCE(j.n, 0) AS n
  FROM (SELECT ev."CUSTOMER_ID" AS k, COUNT(*) AS taken FROM "E_0_LAST" AS ev GROUP BY ev."CUSTOMER_ID") AS t
  LEFT JOIN (
    SELECT ev."CUSTOMER_ID" AS k, COUNT(*) AS n
    FROM "E_0_LAST" AS ev
    WHERE EXISTS (SELECT 1 FROM "RAW"."EMAIL_EVENTS" AS nx WHERE nx."CUSTOMER_ID" = ev."CUSTOMER_ID" AND CAST(nx."OCCURRED_AT" AS TIMESTAMP_NTZ) >= CAST(ev."OCCURRED_AT" AS TIMESTAMP_NTZ) AND CAST(CAST(nx."OCCURRED_AT" AS TIMESTAMP_NTZ) AS DATE) <= DATE '2026-06-30' AND nx."CAMPAIGN_ID" = ev."CAMPAIGN_ID" AND nx."EVENT_TYPE" = 'opened' AND nx."MACHINE_OPEN" = FALSE)
    GROUP BY ev."CUSTOMER_ID"
  ) AS j ON j.k = t.k
),
"E_1_LAST" AS (
  SELECT * FROM (
    SELECT ev.*, ROW_NUMBER() OVER (PARTITION BY ev."CUSTOMER_ID" ORDER BY ev."OCCURRED_AT" DESC, ev."EVENT_ID" DESC NULLS LAST) AS "TIDELINE_RECENCY"
    FROM "RAW"."EMAIL_EVENTS" AS ev
    WHERE CAST(ev."OCCURRED_AT" AS DATE) <= DATE '2026-06-30'
      AND ev."EVENT_TYPE" = 'delivered'
  ) AS ev
  WHERE ev."TIDELINE_RECENCY" <= 3
),
"E_1" AS (
  SELECT t.k, t.taken, COALESCE(j.n, 0) AS n
  FROM (SELECT ev."CUSTOMER_ID" AS k, COUNT(*) AS taken FROM "E_1_LAST" AS ev GROUP BY ev."CUSTOMER_ID") AS t
  LEFT JOIN (
    SELECT ev."CUSTOMER_ID" AS k, COUNT(*) AS n
    FROM "E_1_LAST" AS ev
    WHERE EXISTS (SELECT 1 FROM "RAW"."EMAIL_EVENTS" AS nx WHERE nx."CUSTOMER_ID" = ev."CUSTOMER_ID" AND CAST(nx."OCCURRED_AT" AS TIMESTAMP_NTZ) >= CAST(ev."OCCURRED_AT" AS TIMESTAMP_NTZ) AND CAST(CAST(nx."OCCURRED_AT" AS TIMESTAMP_NTZ) AS DATE) <= DATE '2026-06-30' AND nx."CAMPAIGN_ID" = ev."CAMPAIGN_ID" AND nx."EVENT_TYPE" = 'opened' AND nx."MACHINE_OPEN" = FALSE)
    GROUP BY ev."CUSTOMER_ID"
  ) AS j ON j.k = t.k
),
"E_2_LAST" AS (
  SELECT * FROM (
    SELECT ev.*, RANK() OVER (PARTITION BY ev."CUSTOMER_ID" ORDER BY ev."OCCURRED_AT" DESC) AS "TIDELINE_RECENCY"
    FROM "RAW"."EMAIL_EVENTS" AS ev
    WHERE CAST(ev."OCCURRED_AT" AS DATE) <= DATE '2026-06-30'
      AND ev."EVENT_TYPE" = 'delivered'
  ) AS ev
  WHERE ev."TIDELINE_RECENCY" <= 3
),
"E_2" AS (
  SELECT t.k, t.taken, COALESCE(j.n, 0) AS n
  FROM (SELECT ev."CUSTOMER_ID" AS k, COUNT(*) AS taken FROM "E_2_LAST" AS ev GROUP BY ev."CUSTOMER_ID") AS t
  LEFT JOIN (
    SELECT ev."CUSTOMER_ID" AS k, COUNT(*) AS n
    FROM "E_2_LAST" AS ev
    WHERE EXISTS (SELECT 1 FROM "RAW"."EMAIL_EVENTS" AS nx WHERE nx."CUSTOMER_ID" = ev."CUSTOMER_ID" AND CAST(nx."OCCURRED_AT" AS TIMESTAMP_NTZ) >= CAST(ev."OCCURRED_AT" AS TIMESTAMP_NTZ) AND CAST(CAST(nx."OCCURRED_AT" AS TIMESTAMP_NTZ) AS DATE) <= DATE '2026-06-30' AND nx."CAMPAIGN_ID" = ev."CAMPAIGN_ID" AND nx."EVENT_TYPE" = 'opened' AND nx."MACHINE_OPEN" = FALSE)
    GROUP BY ev."CUSTOMER_ID"
  ) AS j ON j.k = t.k
),
"E_3_N_LAST" AS (
  SELECT * FROM (
    SELECT ev.*, ROW_NUMBER() OVER (PARTITION BY ev."CUSTOMER_ID" ORDER BY ev."OCCURRED_AT" DESC, ev."EVENT_ID" DESC NULLS LAST) AS "TIDELINE_RECENCY"
    FROM "RAW"."EMAIL_EVENTS" AS ev
    WHERE CAST(ev."OCCURRED_AT" AS DATE) <= DATE '2026-06-30'
      AND ev."EVENT_TYPE" = 'delivered'
  ) AS ev
  WHERE ev."TIDELINE_RECENCY" <= 3
),
"E_3_N" AS (
  SELECT t.k, t.taken, COALESCE(j.n, 0) AS n
  FROM (SELECT ev."CUSTOMER_ID" AS k, COUNT(*) AS taken FROM "E_3_N_LAST" AS ev GROUP BY ev."CUSTOMER_ID") AS t
  LEFT JOIN (
    SELECT ev."CUSTOMER_ID" AS k, COUNT(*) AS n
    FROM "E_3_N_LAST" AS ev
    WHERE EXISTS (SELECT 1 FROM "RAW"."EMAIL_EVENTS" AS nx WHERE nx."CUSTOMER_ID" = ev."CUSTOMER_ID" AND CAST(nx."OCCURRED_AT" AS TIMESTAMP_NTZ) >= CAST(ev."OCCURRED_AT" AS TIMESTAMP_NTZ) AND CAST(CAST(nx."OCCURRED_AT" AS TIMESTAMP_NTZ) AS DATE) <= DATE '2026-06-30' AND nx."CAMPAIGN_ID" = ev."CAMPAIGN_ID" AND nx."EVENT_TYPE" = 'opened' AND nx."MACHINE_OPEN" = FALSE)
    GROUP BY ev."CUSTOMER_ID"
  ) AS j ON j.k = t.k
),
"E_4_LAST" AS (
  SELECT * FROM (
    SELECT ev.*, ROW_NUMBER() OVER (PARTITION BY ev."CUSTOMER_ID" ORDER BY ev."OCCURRED_AT" DESC, ev."EVENT_ID" DESC NULLS LAST) AS "TIDELINE_RECENCY"
    FROM "RAW"."EMAIL_EVENTS" AS ev
    WHERE CAST(ev."OCCURRED_AT" AS DATE) <= DATE '2026-06-30'
      AND ev."EVENT_TYPE" = 'delivered'
  ) AS ev
  WHERE ev."TIDELINE_RECENCY" <= 3
),
"E_4" AS (
  SELECT t.k, t.taken, COALESCE(j.n, 0) AS n
  FROM (SELECT ev."CUSTOMER_ID" AS k, COUNT(*) AS taken FROM "E_4_LAST" AS ev GROUP BY ev."CUSTOMER_ID") AS t
  LEFT JOIN (
    SELECT ev."CUSTOMER_ID" AS k, COUNT(*) AS n
    FROM "E_4_LAST" AS ev
    WHERE EXISTS (SELECT 1 FROM "RAW"."EMAIL_EVENTS" AS nx WHERE nx."CUSTOMER_ID" = ev."CUSTOMER_ID" AND CAST(nx."OCCURRED_AT" AS TIMESTAMP_NTZ) >= CAST(ev."OCCURRED_AT" AS TIMESTAMP_NTZ) AND CAST(CAST(nx."OCCURRED_AT" AS TIMESTAMP_NTZ) AS DATE) <= DATE '2026-06-30' AND nx."CAMPAIGN_ID" = ev."CAMPAIGN_ID" AND nx."EVENT_TYPE" = 'opened' AND nx."MACHINE_OPEN" = FALSE)
    GROUP BY ev."CUSTOMER_ID"
  ) AS j ON j.k = t.k
),
"E_5_LAST" AS (
  SELECT * FROM (
    SELECT ev.*, ROW_NUMBER() OVER (PARTITION BY ev."CUSTOMER_ID" ORDER BY ev."OCCURRED_AT" DESC, ev."EVENT_ID" DESC NULLS LAST) AS "TIDELINE_RECENCY"
    FROM "RAW"."EMAIL_EVENTS" AS ev
    WHERE CAST(ev."OCCURRED_AT" AS DATE) <= DATE '2026-06-30'
      AND CAST(ev."OCCURRED_AT" AS DATE) > DATEADD(DAY, -21, DATE '2026-06-30')
      AND ev."EVENT_TYPE" = 'delivered'
  ) AS ev
  WHERE ev."TIDELINE_RECENCY" <= 3
),
"E_5" AS (
  SELECT t.k, t.taken, COALESCE(j.n, 0) AS n
  FROM (SELECT ev."CUSTOMER_ID" AS k, COUNT(*) AS taken FROM "E_5_LAST" AS ev GROUP BY ev."CUSTOMER_ID") AS t
  LEFT JOIN (
    SELECT ev."CUSTOMER_ID" AS k, COUNT(*) AS n
    FROM "E_5_LAST" AS ev
    WHERE NOT EXISTS (SELECT 1 FROM "RAW"."EMAIL_EVENTS" AS nx WHERE nx."CUSTOMER_ID" = ev."CUSTOMER_ID" AND CAST(nx."OCCURRED_AT" AS TIMESTAMP_NTZ) >= CAST(ev."OCCURRED_AT" AS TIMESTAMP_NTZ) AND CAST(CAST(nx."OCCURRED_AT" AS TIMESTAMP_NTZ) AS DATE) <= DATE '2026-06-30' AND nx."CAMPAIGN_ID" = ev."CAMPAIGN_ID" AND nx."EVENT_TYPE" = 'opened' AND nx."MACHINE_OPEN" = FALSE)
    GROUP BY ev."CUSTOMER_ID"
  ) AS j ON j.k = t.k
),
"E_6" AS (
  SELECT ev."CUSTOMER_ID" AS k, COUNT(*) AS n
  FROM "RAW"."EMAIL_EVENTS" AS ev
  WHERE CAST(ev."OCCURRED_AT" AS DATE) <= DATE '2026-06-30'
    AND CAST(ev."OCCURRED_AT" AS DATE) > DATEADD(DAY, -30, DATE '2026-06-30')
    AND ev."EVENT_TYPE" = 'delivered'
  GROUP BY ev."CUSTOMER_ID"
),
"E_7" AS (
  SELECT ev."CUSTOMER_ID" AS k, COUNT(DISTINCT ev."CAMPAIGN_ID") AS n
  FROM "RAW"."EMAIL_EVENTS" AS ev
  WHERE CAST(ev."OCCURRED_AT" AS DATE) <= DATE '2026-06-30'
    AND CAST(ev."OCCURRED_AT" AS DATE) > DATEADD(DAY, -30, DATE '2026-06-30')
    AND ev."EVENT_TYPE" = 'opened'
    AND ev."MACHINE_OPEN" = FALSE
  GROUP BY ev."CUSTOMER_ID"
),
"A_0" AS (
  SELECT DISTINCT u.k FROM (
    SELECT base."CUSTOMER_ID" AS k FROM "BASE" AS base
    LEFT JOIN "E_0" ON "E_0".k = base."CUSTOMER_ID"
    WHERE (COALESCE("E_0".taken, 0) >= 3 AND COALESCE("E_0".n, 0) = 0)
  ) AS u
  WHERE u.k IS NOT NULL
),
"A_1" AS (
  SELECT DISTINCT u.k FROM (
    SELECT base."CUSTOMER_ID" AS k FROM "BASE" AS base
    LEFT JOIN "E_1" ON "E_1".k = base."CUSTOMER_ID"
    WHERE COALESCE("E_1".n, 0) = 0
  ) AS u
  WHERE u.k IS NOT NULL
),
"A_2" AS (
  SELECT DISTINCT u.k FROM (
    SELECT base."CUSTOMER_ID" AS k FROM "BASE" AS base
    LEFT JOIN "E_2" ON "E_2".k = base."CUSTOMER_ID"
    WHERE (COALESCE("E_2".taken, 0) >= 3 AND COALESCE("E_2".n, 0) = 0)
  ) AS u
  WHERE u.k IS NOT NULL
),
"A_3" AS (
  SELECT DISTINCT u.k FROM (
    SELECT base."CUSTOMER_ID" AS k FROM "BASE" AS base
    LEFT JOIN "E_3_N" ON "E_3_N".k = base."CUSTOMER_ID"
    WHERE NOT (COALESCE("E_3_N".taken, 0) >= 3 AND COALESCE("E_3_N".n, 0) = 0)
  ) AS u
  WHERE u.k IS NOT NULL
),
"A_4" AS (
  SELECT DISTINCT u.k FROM (
    SELECT base."CUSTOMER_ID" AS k FROM "BASE" AS base
    LEFT JOIN "E_4" ON "E_4".k = base."CUSTOMER_ID"
    WHERE (COALESCE("E_4".taken, 0) >= 3 AND COALESCE("E_4".n, 0) >= 2)
  ) AS u
  WHERE u.k IS NOT NULL
),
"A_5" AS (
  SELECT DISTINCT u.k FROM (
    SELECT base."CUSTOMER_ID" AS k FROM "BASE" AS base
    LEFT JOIN "E_5" ON "E_5".k = base."CUSTOMER_ID"
    WHERE (COALESCE("E_5".taken, 0) >= 3 AND COALESCE("E_5".n, 0) >= 1)
  ) AS u
  WHERE u.k IS NOT NULL
),
"A_6" AS (
  SELECT DISTINCT u.k FROM (
    SELECT base."CUSTOMER_ID" AS k FROM "BASE" AS base
    LEFT JOIN "E_6" ON "E_6".k = base."CUSTOMER_ID"
    WHERE (COALESCE("E_6".n, 0) >= 2 AND COALESCE("E_6".n, 0) <= 3)
  ) AS u
  WHERE u.k IS NOT NULL
),
"A_7" AS (
  SELECT DISTINCT u.k FROM (
    SELECT base."CUSTOMER_ID" AS k FROM "BASE" AS base
    LEFT JOIN "E_7" ON "E_7".k = base."CUSTOMER_ID"
    WHERE COALESCE("E_7".n, 0) >= 2
  ) AS u
  WHERE u.k IS NOT NULL
),
"ELIGIBLE" AS (
  SELECT 'non_openers' AS audience, 'ads' AS channel, 0 AS priority, FALSE AS exempt, k FROM "A_0"
  UNION ALL
  SELECT 'non_openers_or_fewer' AS audience, 'ads' AS channel, 0 AS priority, FALSE AS exempt, k FROM "A_1"
  UNION ALL
  SELECT 'non_openers_no_id' AS audience, 'ads' AS channel, 0 AS priority, FALSE AS exempt, k FROM "A_2"
  UNION ALL
  SELECT 'not_non_openers' AS audience, 'ads' AS channel, 0 AS priority, FALSE AS exempt, k FROM "A_3"
  UNION ALL
  SELECT 'regular_openers' AS audience, 'ads' AS channel, 0 AS priority, FALSE AS exempt, k FROM "A_4"
  UNION ALL
  SELECT 'some_unopened_recently' AS audience, 'ads' AS channel, 0 AS priority, FALSE AS exempt, k FROM "A_5"
  UNION ALL
  SELECT 'two_to_three_deliveries' AS audience, 'ads' AS channel, 0 AS priority, FALSE AS exempt, k FROM "A_6"
  UNION ALL
  SELECT 'opened_two_campaigns' AS audience, 'ads' AS channel, 0 AS priority, FALSE AS exempt, k FROM "A_7"
),
"JUDGED" AS (
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

-- "history": :run_time below stands for the time the build reaches this step (UTC)

  -- membership history, when the previous build left "ANALYTICS"."ENGAGEMENT_HISTORY" (the build fails if it lacks any of audience, customer_id, audience_group, entered_at, exited_at):
  CREATE TABLE "ANALYTICS__TL_WORK"."ENGAGEMENT__TL_HISTORY" AS
  SELECT p.audience, p."CUSTOMER_ID", p.audience_group, p.entered_at, p.exited_at FROM "ANALYTICS"."ENGAGEMENT_HISTORY" AS p WHERE p.exited_at IS NOT NULL
  UNION ALL
  SELECT p.audience, p."CUSTOMER_ID", p.audience_group, p.entered_at, CAST(NULL AS TIMESTAMP_NTZ) FROM "ANALYTICS"."ENGAGEMENT_HISTORY" AS p WHERE p.exited_at IS NULL AND EXISTS (SELECT 1 FROM "ANALYTICS__TL_WORK"."ENGAGEMENT__TL_MEMBERS" AS m WHERE m.audience = p.audience AND m."CUSTOMER_ID" = p."CUSTOMER_ID" AND m.audience_status = 'member')
  UNION ALL
  SELECT p.audience, p."CUSTOMER_ID", p.audience_group, p.entered_at, :run_time FROM "ANALYTICS"."ENGAGEMENT_HISTORY" AS p WHERE p.exited_at IS NULL AND NOT EXISTS (SELECT 1 FROM "ANALYTICS__TL_WORK"."ENGAGEMENT__TL_MEMBERS" AS m WHERE m.audience = p.audience AND m."CUSTOMER_ID" = p."CUSTOMER_ID" AND m.audience_status = 'member')
  UNION ALL
  SELECT m.audience, m."CUSTOMER_ID", m.audience_group, :run_time AS entered_at, CAST(NULL AS TIMESTAMP_NTZ) AS exited_at
  FROM "ANALYTICS__TL_WORK"."ENGAGEMENT__TL_MEMBERS" AS m
  WHERE m.audience_status = 'member'
    AND NOT EXISTS (SELECT 1 FROM "ANALYTICS"."ENGAGEMENT_HISTORY" AS p WHERE p.exited_at IS NULL AND p.audience = m.audience AND p."CUSTOMER_ID" = m."CUSTOMER_ID");

  -- membership history, on the first build or a full refresh:
  CREATE TABLE "ANALYTICS__TL_WORK"."ENGAGEMENT__TL_HISTORY" AS
  SELECT m.audience, m."CUSTOMER_ID", m.audience_group, :run_time AS entered_at, CAST(NULL AS TIMESTAMP_NTZ) AS exited_at
  FROM "ANALYTICS__TL_WORK"."ENGAGEMENT__TL_MEMBERS" AS m
  WHERE m.audience_status = 'member';

  -- memberships with the time each member entered
  CREATE TABLE "ANALYTICS__TL_WORK"."ENGAGEMENT__TL_BUILD" AS
  SELECT m."AUDIENCE", m."AUDIENCE_STATUS", m."AUDIENCE_GROUP", m."AUDIENCE_CHANNEL", m."AUDIENCE_PRIORITY", m."AUDIENCE_CAPPED_BY", h.entered_at AS "AUDIENCE_ENTERED_AT", m."CUSTOMER_ID", m."EMAIL"
  FROM "ANALYTICS__TL_WORK"."ENGAGEMENT__TL_MEMBERS" AS m
  LEFT JOIN "ANALYTICS__TL_WORK"."ENGAGEMENT__TL_HISTORY" AS h ON h.audience = m.audience AND h."CUSTOMER_ID" = m."CUSTOMER_ID" AND h.exited_at IS NULL;

  -- sizes and moves of this run
  CREATE TABLE "ANALYTICS__TL_WORK"."ENGAGEMENT__TL_REPORT" AS
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
    FROM "ANALYTICS__TL_WORK"."ENGAGEMENT__TL_MEMBERS" GROUP BY audience
  ),
  moves AS (
    SELECT audience, SUM(CASE WHEN entered_at = :run_time THEN 1 ELSE 0 END) AS entered, SUM(CASE WHEN exited_at = :run_time THEN 1 ELSE 0 END) AS exited
    FROM "ANALYTICS__TL_WORK"."ENGAGEMENT__TL_HISTORY" GROUP BY audience
  )
  SELECT n.audience, n.channel, :run_time AS built_at,
    COALESCE(s.members, 0) AS members, COALESCE(s.holdout, 0) AS holdout, COALESCE(s.no_consent, 0) AS no_consent,
    COALESCE(s.capped, 0) AS capped, COALESCE(s.suppressed, 0) AS suppressed, COALESCE(v.entered, 0) AS entered, COALESCE(v.exited, 0) AS exited
  FROM names AS n
  LEFT JOIN sizes AS s ON s.audience = n.audience
  LEFT JOIN moves AS v ON v.audience = n.audience;

-- end "history"

-- swap in
CREATE OR REPLACE TABLE "ANALYTICS"."ENGAGEMENT_HISTORY" CLONE "ANALYTICS__TL_WORK"."ENGAGEMENT__TL_HISTORY";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."ENGAGEMENT__TL_HISTORY";
CREATE OR REPLACE TABLE "ANALYTICS"."ENGAGEMENT_REPORT" CLONE "ANALYTICS__TL_WORK"."ENGAGEMENT__TL_REPORT";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."ENGAGEMENT__TL_REPORT";
CREATE OR REPLACE TABLE "ANALYTICS"."ENGAGEMENT" CLONE "ANALYTICS__TL_WORK"."ENGAGEMENT__TL_BUILD";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."ENGAGEMENT__TL_BUILD";

-- clean up
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."ENGAGEMENT__TL_MEMBERS";
