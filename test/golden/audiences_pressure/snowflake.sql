-- campaigns (audiences) for target snowflake (snowflake)
-- Built into "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_BUILD", "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_HISTORY", "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_REPORT", then swapped in by atomic replaces, the model last.

DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_BUILD";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_HISTORY";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_REPORT";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_MEMBERS";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_CURRENT";

-- current members, whom marketing pressure never drops, when the previous build left "ANALYTICS"."CAMPAIGNS_HISTORY" (the build fails if it lacks any of audience, customer_id, audience_group, entered_at, exited_at):
CREATE TABLE "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_CURRENT" AS
SELECT h.audience, h."CUSTOMER_ID", h.audience_group, h.entered_at FROM "ANALYTICS"."CAMPAIGNS_HISTORY" AS h WHERE h.exited_at IS NULL;

-- current members, whom marketing pressure never drops, on the first build or a full refresh:
CREATE TABLE "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_CURRENT" AS
SELECT CAST(NULL AS VARCHAR) AS audience, b."CUSTOMER_ID", CAST(NULL AS VARCHAR) AS audience_group, CAST(NULL AS TIMESTAMP_NTZ) AS entered_at FROM "RAW"."CUSTOMERS" AS b WHERE 1 = 0;

-- memberships
CREATE TABLE "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_MEMBERS" AS
WITH "BASE" AS (
  SELECT b."CUSTOMER_ID", b."CONSENT_EMAIL", b."CONSENT_SMS", b."CONSENT_ADS", b."Q_FLASH_SALE", b."Q_RESTOCK", b."Q_NEWSLETTER", b."Q_RECEIPT", b."Q_SMS_PROMO", b."Q_BLOCKLIST", b."Q_WINBACK", b."Q_ADS_RETARGET"
  FROM "RAW"."CUSTOMERS" AS b
),
"A_0" AS (
  SELECT DISTINCT u.k FROM (
    SELECT base."CUSTOMER_ID" AS k FROM "BASE" AS base
    WHERE COALESCE(base."Q_FLASH_SALE" = TRUE, FALSE)
  ) AS u
  WHERE u.k IS NOT NULL
),
"A_1" AS (
  SELECT DISTINCT u.k FROM (
    SELECT base."CUSTOMER_ID" AS k FROM "BASE" AS base
    WHERE COALESCE(base."Q_RESTOCK" = TRUE, FALSE)
  ) AS u
  WHERE u.k IS NOT NULL
),
"A_2" AS (
  SELECT DISTINCT u.k FROM (
    SELECT base."CUSTOMER_ID" AS k FROM "BASE" AS base
    WHERE COALESCE(base."Q_NEWSLETTER" = TRUE, FALSE)
  ) AS u
  WHERE u.k IS NOT NULL
),
"A_3" AS (
  SELECT DISTINCT u.k FROM (
    SELECT base."CUSTOMER_ID" AS k FROM "BASE" AS base
    WHERE COALESCE(base."Q_RECEIPT" = TRUE, FALSE)
  ) AS u
  WHERE u.k IS NOT NULL
),
"A_4" AS (
  SELECT DISTINCT u.k FROM (
    SELECT base."CUSTOMER_ID" AS k FROM "BASE" AS base
    WHERE COALESCE(base."Q_SMS_PROMO" = TRUE, FALSE)
  ) AS u
  WHERE u.k IS NOT NULL
),
"A_5" AS (
  SELECT DISTINCT u.k FROM (
    SELECT base."CUSTOMER_ID" AS k FROM "BASE" AS base
    WHERE COALESCE(base."Q_BLOCKLIST" = TRUE, FALSE)
  ) AS u
  WHERE u.k IS NOT NULL
),
"ELIGIBLE" AS (
  SELECT 'flash_sale' AS audience, 'email' AS channel, 5 AS priority, FALSE AS exempt, k FROM "A_0"
  UNION ALL
  SELECT 'restock' AS audience, 'email' AS channel, 4 AS priority, FALSE AS exempt, k FROM "A_1"
  UNION ALL
  SELECT 'newsletter' AS audience, 'email' AS channel, 3 AS priority, FALSE AS exempt, k FROM "A_2"
  UNION ALL
  SELECT 'receipt' AS audience, 'email' AS channel, 9 AS priority, FALSE AS exempt, k FROM "A_3"
  UNION ALL
  SELECT 'sms_promo' AS audience, 'sms' AS channel, 4 AS priority, FALSE AS exempt, k FROM "A_4"
  UNION ALL
  SELECT 'blocklist' AS audience, 'email' AS channel, 0 AS priority, TRUE AS exempt, k FROM "A_5"
),
"JUDGED" AS (
  SELECT e.audience, e.channel, e.priority, e.exempt, e.k, CASE e.audience
    WHEN 'flash_sale' THEN COALESCE(base."CONSENT_EMAIL", FALSE)
    WHEN 'restock' THEN COALESCE(base."CONSENT_EMAIL", FALSE)
    WHEN 'newsletter' THEN COALESCE(base."CONSENT_EMAIL", FALSE)
    WHEN 'receipt' THEN COALESCE(base."CONSENT_EMAIL", FALSE)
    WHEN 'sms_promo' THEN COALESCE(base."CONSENT_SMS", FALSE)
    WHEN 'blocklist' THEN TRUE
  END AS consented, FALSE AS suppressed
  FROM "ELIGIBLE" AS e JOIN "BASE" AS base ON base."CUSTOMER_ID" = e.k
),
"RANKED" AS (
  SELECT j.*,
    ROW_NUMBER() OVER (PARTITION BY j.k, j.channel, j.consented, j.exempt, j.suppressed ORDER BY j.priority DESC, j.audience) AS pressure_rank,
    MOD(TO_NUMBER(SUBSTR(MD5(CAST(j.k AS VARCHAR) || '|' || j.audience || '|' || 'tideline'), 1, 8), 'XXXXXXXX'), 10000) AS bucket
  FROM "JUDGED" AS j
),
"PRESSURE_PREVIOUS" AS (
  SELECT DISTINCT p.audience, p."CUSTOMER_ID" AS k FROM "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_CURRENT" AS p
),
"PRESSURE_MESSAGES" AS (
SELECT k, channel, message_type, day, source, model, 'sent' AS origin FROM (
  SELECT DISTINCT s."CONTACT_KEY" AS k, s."CHANNEL" AS channel, s."MESSAGE_TYPE" AS message_type, CAST(s."SENT_AT" AS DATE) AS day,
    COALESCE(s."AUDIENCE", s."SYNC_NAME") AS source, s."MODEL" AS model, CASE WHEN s."AUDIENCE" IS NULL THEN s."RECORD_KEY" END AS item
  FROM "TIDELINE_STATE"."SYNC_MESSAGES" AS s
  WHERE CAST(s."SENT_AT" AS DATE) > DATEADD(DAY, -30, DATE '2026-06-30')
) AS sent
UNION ALL
SELECT CAST(e."CUSTOMER_ID" AS VARCHAR), 'email', 'promotional', CAST(e."OCCURRED_AT" AS DATE), 'email_log', CAST(NULL AS VARCHAR), 'delivered'
  FROM "ANALYTICS"."EMAIL_LOG" AS e
  WHERE CAST(e."OCCURRED_AT" AS DATE) > DATEADD(DAY, -30, DATE '2026-06-30') AND CAST(e."CUSTOMER_ID" AS VARCHAR) IS NOT NULL AND e."EVENT_TYPE" = 'delivered'
UNION ALL
SELECT CAST(p."CUSTOMER_ID" AS VARCHAR), CASE p.audience WHEN 'flash_sale' THEN 'email' END, CASE p.audience WHEN 'flash_sale' THEN 'promotional' END, DATE '2026-06-30', p.audience, 'campaigns', 'pending'
  FROM "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_CURRENT" AS p
  WHERE p.audience IN ('flash_sale') AND p.audience_group <> 'holdout' AND NOT EXISTS (SELECT 1 FROM "TIDELINE_STATE"."SYNC_MESSAGES" AS s WHERE s."MODEL" = 'campaigns' AND s."AUDIENCE" = p.audience AND s."CONTACT_KEY" = CAST(p."CUSTOMER_ID" AS VARCHAR) AND s."SENT_AT" >= p.entered_at) AND NOT COALESCE(p.entered_at <= CASE p.audience WHEN 'flash_sale' THEN (SELECT MAX(r."STARTED_AT") FROM "TIDELINE_STATE"."SYNC_RUNS" AS r WHERE r."SYNC_NAME" IN ('flash_list') AND r."FINISHED_AT" IS NOT NULL) END, FALSE)
),
"PRESSURE_USED" AS (
  SELECT m.k, SUM(CASE WHEN m.channel IN ('email') AND m.day > DATEADD(DAY, -7, DATE '2026-06-30') THEN CASE m.message_type WHEN 'newsletter' THEN 500 WHEN 'transactional' THEN 0 ELSE 1000 END ELSE 0 END) AS "U_0", SUM(CASE WHEN TRUE AND m.day > DATEADD(DAY, -30, DATE '2026-06-30') THEN CASE m.message_type WHEN 'newsletter' THEN 500 WHEN 'transactional' THEN 0 ELSE 1000 END ELSE 0 END) AS "U_1"
  FROM "PRESSURE_MESSAGES" AS m
  GROUP BY m.k
),
"PRESSURE_CANDIDATES" AS (
  SELECT r.k, MAX(CASE WHEN r.audience = 'flash_sale' THEN 1 ELSE 0 END) AS "Q_0", MAX(CASE WHEN r.audience = 'restock' THEN 1 ELSE 0 END) AS "Q_1", MAX(CASE WHEN r.audience = 'sms_promo' THEN 1 ELSE 0 END) AS "Q_2", MAX(CASE WHEN r.audience = 'newsletter' THEN 1 ELSE 0 END) AS "Q_3"
  FROM "RANKED" AS r
  WHERE r.consented AND NOT r.suppressed AND NOT (FALSE) AND r.audience IN ('flash_sale', 'restock', 'sms_promo', 'newsletter') AND NOT EXISTS (SELECT 1 FROM "PRESSURE_PREVIOUS" AS p WHERE p.audience = r.audience AND p.k = r.k)
  GROUP BY r.k
),
"PRESSURE_0" AS (
  SELECT q.*, COALESCE(u."U_0", 0) AS "T_0_0", COALESCE(u."U_1", 0) AS "T_1_0"
  FROM "PRESSURE_CANDIDATES" AS q
  LEFT JOIN "PRESSURE_USED" AS u ON u.k = CAST(q.k AS VARCHAR)
),
"PRESSURE_1" AS (
  SELECT p.*, CASE WHEN p."Q_0" >= 1 AND p."T_0_0" + 1000 <= 2000 AND p."T_1_0" + 1000 <= 3000 THEN 1 ELSE 0 END AS "OK_0", CASE WHEN p."Q_0" >= 1 AND NOT (p."Q_0" >= 1 AND p."T_0_0" + 1000 <= 2000 AND p."T_1_0" + 1000 <= 3000) THEN CASE WHEN NOT (p."T_0_0" + 1000 <= 2000) THEN 0 WHEN NOT (p."T_1_0" + 1000 <= 3000) THEN 1 END END AS "BY_0", p."T_0_0" + CASE WHEN p."Q_0" >= 1 AND p."T_0_0" + 1000 <= 2000 AND p."T_1_0" + 1000 <= 3000 AND p."Q_0" = 1 THEN 1000 ELSE 0 END AS "T_0_1", p."T_1_0" + CASE WHEN p."Q_0" >= 1 AND p."T_0_0" + 1000 <= 2000 AND p."T_1_0" + 1000 <= 3000 AND p."Q_0" = 1 THEN 1000 ELSE 0 END AS "T_1_1"
  FROM "PRESSURE_0" AS p
),
"PRESSURE_2" AS (
  SELECT p.*, CASE WHEN p."Q_1" >= 1 AND p."T_0_1" + 1000 <= 2000 AND p."T_1_1" + 1000 <= 3000 THEN 1 ELSE 0 END AS "OK_1", CASE WHEN p."Q_1" >= 1 AND NOT (p."Q_1" >= 1 AND p."T_0_1" + 1000 <= 2000 AND p."T_1_1" + 1000 <= 3000) THEN CASE WHEN NOT (p."T_0_1" + 1000 <= 2000) THEN 0 WHEN NOT (p."T_1_1" + 1000 <= 3000) THEN 1 END END AS "BY_1", p."T_0_1" + CASE WHEN p."Q_1" >= 1 AND p."T_0_1" + 1000 <= 2000 AND p."T_1_1" + 1000 <= 3000 AND p."Q_1" = 1 THEN 1000 ELSE 0 END AS "T_0_2", p."T_1_1" + CASE WHEN p."Q_1" >= 1 AND p."T_0_1" + 1000 <= 2000 AND p."T_1_1" + 1000 <= 3000 AND p."Q_1" = 1 THEN 1000 ELSE 0 END AS "T_1_2"
  FROM "PRESSURE_1" AS p
),
"PRESSURE_3" AS (
  SELECT p.*, CASE WHEN p."Q_2" >= 1 AND p."T_1_2" + 1000 <= 3000 THEN 1 ELSE 0 END AS "OK_2", CASE WHEN p."Q_2" >= 1 AND NOT (p."Q_2" >= 1 AND p."T_1_2" + 1000 <= 3000) THEN CASE WHEN NOT (p."T_1_2" + 1000 <= 3000) THEN 1 END END AS "BY_2", p."T_1_2" + CASE WHEN p."Q_2" >= 1 AND p."T_1_2" + 1000 <= 3000 AND p."Q_2" = 1 THEN 1000 ELSE 0 END AS "T_1_3"
  FROM "PRESSURE_2" AS p
),
"PRESSURE_4" AS (
  SELECT p.*, CASE WHEN p."Q_3" >= 1 AND p."T_0_2" + 500 <= 2000 AND p."T_1_3" + 500 <= 3000 THEN 1 ELSE 0 END AS "OK_3", CASE WHEN p."Q_3" >= 1 AND NOT (p."Q_3" >= 1 AND p."T_0_2" + 500 <= 2000 AND p."T_1_3" + 500 <= 3000) THEN CASE WHEN NOT (p."T_0_2" + 500 <= 2000) THEN 0 WHEN NOT (p."T_1_3" + 500 <= 3000) THEN 1 END END AS "BY_3", p."T_0_2" + CASE WHEN p."Q_3" >= 1 AND p."T_0_2" + 500 <= 2000 AND p."T_1_3" + 500 <= 3000 AND p."Q_3" = 1 THEN 500 ELSE 0 END AS "T_0_4", p."T_1_3" + CASE WHEN p."Q_3" >= 1 AND p."T_0_2" + 500 <= 2000 AND p."T_1_3" + 500 <= 3000 AND p."Q_3" = 1 THEN 500 ELSE 0 END AS "T_1_4"
  FROM "PRESSURE_3" AS p
),
"PRESSURE_VERDICTS" AS (
  SELECT f.k, 'flash_sale' AS audience, f."OK_0" AS admitted, f."BY_0" AS cap FROM "PRESSURE_4" AS f WHERE f."Q_0" >= 1
  UNION ALL
  SELECT f.k, 'restock' AS audience, f."OK_1" AS admitted, f."BY_1" AS cap FROM "PRESSURE_4" AS f WHERE f."Q_1" >= 1
  UNION ALL
  SELECT f.k, 'sms_promo' AS audience, f."OK_2" AS admitted, f."BY_2" AS cap FROM "PRESSURE_4" AS f WHERE f."Q_2" >= 1
  UNION ALL
  SELECT f.k, 'newsletter' AS audience, f."OK_3" AS admitted, f."BY_3" AS cap FROM "PRESSURE_4" AS f WHERE f."Q_3" >= 1
)
SELECT
  r.audience AS "AUDIENCE",
  CASE WHEN r.suppressed THEN 'suppressed' WHEN NOT r.consented THEN 'no_consent' WHEN v.admitted = 0 THEN 'capped' ELSE 'member' END AS "AUDIENCE_STATUS",
  'treatment' AS "AUDIENCE_GROUP",
  r.channel AS "AUDIENCE_CHANNEL",
  r.priority AS "AUDIENCE_PRIORITY",
  CASE WHEN r.suppressed OR NOT r.consented THEN CAST(NULL AS VARCHAR) WHEN v.admitted = 0 THEN CASE v.cap WHEN 0 THEN 'email ≤ 2 per 7 days' WHEN 1 THEN 'all channels ≤ 3 per 30 days' END END AS "AUDIENCE_CAPPED_BY",
  base.*
FROM "RANKED" AS r
JOIN "BASE" AS base ON base."CUSTOMER_ID" = r.k
LEFT JOIN "PRESSURE_VERDICTS" AS v ON v.k = r.k AND v.audience = r.audience;

-- "history": :run_time below stands for the time the build reaches this step (UTC)

  -- membership history, when the previous build left "ANALYTICS"."CAMPAIGNS_HISTORY" (the build fails if it lacks any of audience, customer_id, audience_group, entered_at, exited_at):
  CREATE TABLE "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_HISTORY" AS
  SELECT p.audience, p."CUSTOMER_ID", p.audience_group, p.entered_at, p.exited_at FROM "ANALYTICS"."CAMPAIGNS_HISTORY" AS p WHERE p.exited_at IS NOT NULL
  UNION ALL
  SELECT p.audience, p."CUSTOMER_ID", p.audience_group, p.entered_at, CAST(NULL AS TIMESTAMP_NTZ) FROM "ANALYTICS"."CAMPAIGNS_HISTORY" AS p WHERE p.exited_at IS NULL AND EXISTS (SELECT 1 FROM "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_MEMBERS" AS m WHERE m.audience = p.audience AND m."CUSTOMER_ID" = p."CUSTOMER_ID" AND m.audience_status = 'member')
  UNION ALL
  SELECT p.audience, p."CUSTOMER_ID", p.audience_group, p.entered_at, :run_time FROM "ANALYTICS"."CAMPAIGNS_HISTORY" AS p WHERE p.exited_at IS NULL AND NOT EXISTS (SELECT 1 FROM "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_MEMBERS" AS m WHERE m.audience = p.audience AND m."CUSTOMER_ID" = p."CUSTOMER_ID" AND m.audience_status = 'member')
  UNION ALL
  SELECT m.audience, m."CUSTOMER_ID", m.audience_group, :run_time AS entered_at, CAST(NULL AS TIMESTAMP_NTZ) AS exited_at
  FROM "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_MEMBERS" AS m
  WHERE m.audience_status = 'member'
    AND NOT EXISTS (SELECT 1 FROM "ANALYTICS"."CAMPAIGNS_HISTORY" AS p WHERE p.exited_at IS NULL AND p.audience = m.audience AND p."CUSTOMER_ID" = m."CUSTOMER_ID");

  -- membership history, on the first build or a full refresh:
  CREATE TABLE "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_HISTORY" AS
  SELECT m.audience, m."CUSTOMER_ID", m.audience_group, :run_time AS entered_at, CAST(NULL AS TIMESTAMP_NTZ) AS exited_at
  FROM "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_MEMBERS" AS m
  WHERE m.audience_status = 'member';

  -- memberships with the time each member entered
  CREATE TABLE "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_BUILD" AS
  SELECT m."AUDIENCE", m."AUDIENCE_STATUS", m."AUDIENCE_GROUP", m."AUDIENCE_CHANNEL", m."AUDIENCE_PRIORITY", m."AUDIENCE_CAPPED_BY", h.entered_at AS "AUDIENCE_ENTERED_AT", m."CUSTOMER_ID", m."CONSENT_EMAIL", m."CONSENT_SMS", m."CONSENT_ADS", m."Q_FLASH_SALE", m."Q_RESTOCK", m."Q_NEWSLETTER", m."Q_RECEIPT", m."Q_SMS_PROMO", m."Q_BLOCKLIST", m."Q_WINBACK", m."Q_ADS_RETARGET"
  FROM "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_MEMBERS" AS m
  LEFT JOIN "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_HISTORY" AS h ON h.audience = m.audience AND h."CUSTOMER_ID" = m."CUSTOMER_ID" AND h.exited_at IS NULL;

  -- sizes and moves of this run
  CREATE TABLE "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_REPORT" AS
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
    FROM "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_MEMBERS" GROUP BY audience
  ),
  moves AS (
    SELECT audience, SUM(CASE WHEN entered_at = :run_time THEN 1 ELSE 0 END) AS entered, SUM(CASE WHEN exited_at = :run_time THEN 1 ELSE 0 END) AS exited
    FROM "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_HISTORY" GROUP BY audience
  )
  SELECT n.audience, n.channel, :run_time AS built_at,
    COALESCE(s.members, 0) AS members, COALESCE(s.holdout, 0) AS holdout, COALESCE(s.no_consent, 0) AS no_consent,
    COALESCE(s.capped, 0) AS capped, COALESCE(s.suppressed, 0) AS suppressed, COALESCE(v.entered, 0) AS entered, COALESCE(v.exited, 0) AS exited
  FROM names AS n
  LEFT JOIN sizes AS s ON s.audience = n.audience
  LEFT JOIN moves AS v ON v.audience = n.audience;

-- end "history"

-- swap in
CREATE OR REPLACE TABLE "ANALYTICS"."CAMPAIGNS_HISTORY" CLONE "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_HISTORY";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_HISTORY";
CREATE OR REPLACE TABLE "ANALYTICS"."CAMPAIGNS_REPORT" CLONE "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_REPORT";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_REPORT";
CREATE OR REPLACE TABLE "ANALYTICS"."CAMPAIGNS" CLONE "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_BUILD";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_BUILD";

-- clean up
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_MEMBERS";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."CAMPAIGNS__TL_CURRENT";
