-- shop_report (report) for target snowflake (snowflake)
-- Built into "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_BUILD", "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_KPIS", "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_PROGRAMS", "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_UPLIFT", "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_COHORTS", "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_SEGMENTS", "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_MIGRATION", then swapped in by atomic replaces, the model last.

DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_BUILD";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_KPIS";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_PROGRAMS";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_UPLIFT";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_COHORTS";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_SEGMENTS";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_MIGRATION";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_ORDERS";

-- orders counted by the report
CREATE TABLE "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_ORDERS" AS
SELECT CAST("O"."CUSTOMER_ID" AS VARCHAR) AS k, CAST("O"."ORDERED_AT" AS TIMESTAMP_NTZ) AS ordered_at, CAST("O"."ORDERED_AT" AS DATE) AS order_day, CAST(COALESCE("O"."AMOUNT", 0) AS FLOAT) AS revenue
FROM "RAW"."ORDERS" AS "O"
WHERE "O"."CUSTOMER_ID" IS NOT NULL
  AND "O"."ORDERED_AT" IS NOT NULL
  AND CAST("O"."ORDERED_AT" AS DATE) <= DATE '2026-06-30'
  AND COALESCE("O"."STATUS" = 'completed', FALSE);

-- channel KPIs per campaign and period
CREATE TABLE "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_KPIS" AS
WITH "EMAIL_MESSAGES" AS (
  SELECT CAST("EV"."CAMPAIGN_ID" AS VARCHAR) AS campaign, "EV"."CUSTOMER_ID" AS customer, MIN(CAST("EV"."OCCURRED_AT" AS DATE)) AS first_day,
    MAX(CASE WHEN "EV"."EVENT_TYPE" IN ('sent', 'delivered', 'bounced') THEN 1 ELSE 0 END) AS "MESSAGES",
    MAX(CASE WHEN "EV"."EVENT_TYPE" IN ('delivered') THEN 1 ELSE 0 END) AS "DELIVERED",
    MAX(CASE WHEN "EV"."EVENT_TYPE" IN ('bounced') THEN 1 ELSE 0 END) AS "BOUNCED",
    MAX(CASE WHEN "EV"."EVENT_TYPE" IN ('opened') THEN 1 ELSE 0 END) AS "OPENERS",
    MAX(CASE WHEN "EV"."EVENT_TYPE" IN ('opened') AND NOT COALESCE("EV"."MACHINE_OPEN", FALSE) THEN 1 ELSE 0 END) AS "HUMAN_OPENERS",
    MAX(CASE WHEN "EV"."EVENT_TYPE" IN ('clicked') AND NOT ("EV"."EVENT_TYPE" IN ('unsubscribed')) THEN 1 ELSE 0 END) AS "CLICKERS",
    MAX(CASE WHEN "EV"."EVENT_TYPE" IN ('unsubscribed') THEN 1 ELSE 0 END) AS "UNSUBSCRIBERS",
    MAX(CASE WHEN "EV"."EVENT_TYPE" IN ('unsubscribed') THEN 1 ELSE 0 END) AS "UNSUBSCRIBE_CLICKERS",
    MAX(CASE WHEN ("EV"."EVENT_TYPE" IN ('clicked') OR "EV"."EVENT_TYPE" IN ('unsubscribed')) THEN 1 ELSE 0 END) AS "ALL_CLICKERS"
  FROM "RAW"."EMAIL_EVENTS" AS "EV"
  WHERE "EV"."CUSTOMER_ID" IS NOT NULL
    AND "EV"."CAMPAIGN_ID" IS NOT NULL
    AND CAST("EV"."OCCURRED_AT" AS DATE) <= DATE '2026-06-30'
  GROUP BY CAST("EV"."CAMPAIGN_ID" AS VARCHAR), "EV"."CUSTOMER_ID"
),
"EMAIL_PERIODS" AS (
  SELECT m.*, DATE_TRUNC('MONTH', m.first_day) AS period_start FROM "EMAIL_MESSAGES" AS m WHERE m.first_day >= DATEADD(MONTH, -2, DATE_TRUNC('MONTH', DATE '2026-06-30'))
),
"EMAIL_TOTALS" AS (
  SELECT campaign, period_start, COALESCE(SUM("MESSAGES"), 0) AS "MESSAGES", COALESCE(SUM("DELIVERED"), 0) AS "DELIVERED", COALESCE(SUM("BOUNCED"), 0) AS "BOUNCED", COALESCE(SUM("OPENERS"), 0) AS "OPENERS", COALESCE(SUM("HUMAN_OPENERS"), 0) AS "HUMAN_OPENERS", COALESCE(SUM("CLICKERS"), 0) AS "CLICKERS", COALESCE(SUM("UNSUBSCRIBERS"), 0) AS "UNSUBSCRIBERS", COALESCE(SUM("UNSUBSCRIBE_CLICKERS"), 0) AS "UNSUBSCRIBE_CLICKERS", COALESCE(SUM("ALL_CLICKERS"), 0) AS "ALL_CLICKERS" FROM "EMAIL_PERIODS" GROUP BY campaign, period_start
  UNION ALL
  SELECT campaign, CAST(NULL AS DATE) AS period_start, COALESCE(SUM("MESSAGES"), 0) AS "MESSAGES", COALESCE(SUM("DELIVERED"), 0) AS "DELIVERED", COALESCE(SUM("BOUNCED"), 0) AS "BOUNCED", COALESCE(SUM("OPENERS"), 0) AS "OPENERS", COALESCE(SUM("HUMAN_OPENERS"), 0) AS "HUMAN_OPENERS", COALESCE(SUM("CLICKERS"), 0) AS "CLICKERS", COALESCE(SUM("UNSUBSCRIBERS"), 0) AS "UNSUBSCRIBERS", COALESCE(SUM("UNSUBSCRIBE_CLICKERS"), 0) AS "UNSUBSCRIBE_CLICKERS", COALESCE(SUM("ALL_CLICKERS"), 0) AS "ALL_CLICKERS" FROM "EMAIL_PERIODS" GROUP BY campaign
  UNION ALL
  SELECT CAST(NULL AS VARCHAR) AS campaign, period_start, COALESCE(SUM("MESSAGES"), 0) AS "MESSAGES", COALESCE(SUM("DELIVERED"), 0) AS "DELIVERED", COALESCE(SUM("BOUNCED"), 0) AS "BOUNCED", COALESCE(SUM("OPENERS"), 0) AS "OPENERS", COALESCE(SUM("HUMAN_OPENERS"), 0) AS "HUMAN_OPENERS", COALESCE(SUM("CLICKERS"), 0) AS "CLICKERS", COALESCE(SUM("UNSUBSCRIBERS"), 0) AS "UNSUBSCRIBERS", COALESCE(SUM("UNSUBSCRIBE_CLICKERS"), 0) AS "UNSUBSCRIBE_CLICKERS", COALESCE(SUM("ALL_CLICKERS"), 0) AS "ALL_CLICKERS" FROM "EMAIL_PERIODS" GROUP BY period_start
  UNION ALL
  SELECT CAST(NULL AS VARCHAR) AS campaign, CAST(NULL AS DATE) AS period_start, COALESCE(SUM("MESSAGES"), 0) AS "MESSAGES", COALESCE(SUM("DELIVERED"), 0) AS "DELIVERED", COALESCE(SUM("BOUNCED"), 0) AS "BOUNCED", COALESCE(SUM("OPENERS"), 0) AS "OPENERS", COALESCE(SUM("HUMAN_OPENERS"), 0) AS "HUMAN_OPENERS", COALESCE(SUM("CLICKERS"), 0) AS "CLICKERS", COALESCE(SUM("UNSUBSCRIBERS"), 0) AS "UNSUBSCRIBERS", COALESCE(SUM("UNSUBSCRIBE_CLICKERS"), 0) AS "UNSUBSCRIBE_CLICKERS", COALESCE(SUM("ALL_CLICKERS"), 0) AS "ALL_CLICKERS" FROM "EMAIL_PERIODS" HAVING COUNT(*) > 0
),
"SMS_MESSAGES" AS (
  SELECT CAST("EV"."CAMPAIGN" AS VARCHAR) AS campaign, "EV"."PHONE" AS customer, MIN(CAST("EV"."AT" AS DATE)) AS first_day,
    MAX(CASE WHEN "EV"."STATUS" IN ('SENT', 'DELIVERED') THEN 1 ELSE 0 END) AS "MESSAGES",
    MAX(CASE WHEN "EV"."STATUS" IN ('DELIVERED') THEN 1 ELSE 0 END) AS "DELIVERED",
    MAX(CASE WHEN "EV"."STATUS" IN ('CLICK') THEN 1 ELSE 0 END) AS "CLICKERS",
    MAX(CASE WHEN "EV"."STATUS" IN ('STOP', 'STOP_ALL') THEN 1 ELSE 0 END) AS "STOPS"
  FROM "RAW"."SMS_EVENTS" AS "EV"
  WHERE "EV"."PHONE" IS NOT NULL
    AND "EV"."CAMPAIGN" IS NOT NULL
    AND CAST("EV"."AT" AS DATE) <= DATE '2026-06-30'
  GROUP BY CAST("EV"."CAMPAIGN" AS VARCHAR), "EV"."PHONE"
),
"SMS_PERIODS" AS (
  SELECT m.*, DATE_TRUNC('MONTH', m.first_day) AS period_start FROM "SMS_MESSAGES" AS m WHERE m.first_day >= DATEADD(MONTH, -2, DATE_TRUNC('MONTH', DATE '2026-06-30'))
),
"SMS_TOTALS" AS (
  SELECT campaign, period_start, COALESCE(SUM("MESSAGES"), 0) AS "MESSAGES", COALESCE(SUM("DELIVERED"), 0) AS "DELIVERED", COALESCE(SUM("CLICKERS"), 0) AS "CLICKERS", COALESCE(SUM("STOPS"), 0) AS "STOPS" FROM "SMS_PERIODS" GROUP BY campaign, period_start
  UNION ALL
  SELECT campaign, CAST(NULL AS DATE) AS period_start, COALESCE(SUM("MESSAGES"), 0) AS "MESSAGES", COALESCE(SUM("DELIVERED"), 0) AS "DELIVERED", COALESCE(SUM("CLICKERS"), 0) AS "CLICKERS", COALESCE(SUM("STOPS"), 0) AS "STOPS" FROM "SMS_PERIODS" GROUP BY campaign
  UNION ALL
  SELECT CAST(NULL AS VARCHAR) AS campaign, period_start, COALESCE(SUM("MESSAGES"), 0) AS "MESSAGES", COALESCE(SUM("DELIVERED"), 0) AS "DELIVERED", COALESCE(SUM("CLICKERS"), 0) AS "CLICKERS", COALESCE(SUM("STOPS"), 0) AS "STOPS" FROM "SMS_PERIODS" GROUP BY period_start
  UNION ALL
  SELECT CAST(NULL AS VARCHAR) AS campaign, CAST(NULL AS DATE) AS period_start, COALESCE(SUM("MESSAGES"), 0) AS "MESSAGES", COALESCE(SUM("DELIVERED"), 0) AS "DELIVERED", COALESCE(SUM("CLICKERS"), 0) AS "CLICKERS", COALESCE(SUM("STOPS"), 0) AS "STOPS" FROM "SMS_PERIODS" HAVING COUNT(*) > 0
),
"PUSH_MESSAGES" AS (
  SELECT CAST("EV"."CAMPAIGN" AS VARCHAR) AS campaign, "EV"."DEVICE" AS customer, MIN(CAST("EV"."AT" AS DATE)) AS first_day,
    MAX(CASE WHEN "EV"."EVENT" IN ('sent', 'displayed') THEN 1 ELSE 0 END) AS "MESSAGES",
    MAX(CASE WHEN "EV"."EVENT" IN ('displayed') THEN 1 ELSE 0 END) AS "DISPLAYED",
    MAX(CASE WHEN "EV"."EVENT" IN ('opened') THEN 1 ELSE 0 END) AS "REACTORS"
  FROM "RAW"."PUSH_EVENTS" AS "EV"
  WHERE "EV"."DEVICE" IS NOT NULL
    AND "EV"."CAMPAIGN" IS NOT NULL
    AND CAST("EV"."AT" AS DATE) <= DATE '2026-06-30'
  GROUP BY CAST("EV"."CAMPAIGN" AS VARCHAR), "EV"."DEVICE"
),
"PUSH_PERIODS" AS (
  SELECT m.*, DATE_TRUNC('MONTH', m.first_day) AS period_start FROM "PUSH_MESSAGES" AS m WHERE m.first_day >= DATEADD(MONTH, -2, DATE_TRUNC('MONTH', DATE '2026-06-30'))
),
"PUSH_TOTALS" AS (
  SELECT campaign, period_start, COALESCE(SUM("MESSAGES"), 0) AS "MESSAGES", COALESCE(SUM("DISPLAYED"), 0) AS "DISPLAYED", COALESCE(SUM("REACTORS"), 0) AS "REACTORS" FROM "PUSH_PERIODS" GROUP BY campaign, period_start
  UNION ALL
  SELECT campaign, CAST(NULL AS DATE) AS period_start, COALESCE(SUM("MESSAGES"), 0) AS "MESSAGES", COALESCE(SUM("DISPLAYED"), 0) AS "DISPLAYED", COALESCE(SUM("REACTORS"), 0) AS "REACTORS" FROM "PUSH_PERIODS" GROUP BY campaign
  UNION ALL
  SELECT CAST(NULL AS VARCHAR) AS campaign, period_start, COALESCE(SUM("MESSAGES"), 0) AS "MESSAGES", COALESCE(SUM("DISPLAYED"), 0) AS "DISPLAYED", COALESCE(SUM("REACTORS"), 0) AS "REACTORS" FROM "PUSH_PERIODS" GROUP BY period_start
  UNION ALL
  SELECT CAST(NULL AS VARCHAR) AS campaign, CAST(NULL AS DATE) AS period_start, COALESCE(SUM("MESSAGES"), 0) AS "MESSAGES", COALESCE(SUM("DISPLAYED"), 0) AS "DISPLAYED", COALESCE(SUM("REACTORS"), 0) AS "REACTORS" FROM "PUSH_PERIODS" HAVING COUNT(*) > 0
),
"MAIL_MESSAGES" AS (
  SELECT CAST("EV"."CAMPAIGN" AS VARCHAR) AS campaign, "EV"."CARD" AS customer, MIN(CAST("EV"."AT" AS DATE)) AS first_day,
    MAX(CASE WHEN "EV"."EVENT" IN ('sent', 'returned') THEN 1 ELSE 0 END) AS "MESSAGES",
    MAX(CASE WHEN "EV"."EVENT" IN ('returned') THEN 1 ELSE 0 END) AS "RETURNED"
  FROM "RAW"."MAIL_EVENTS" AS "EV"
  WHERE "EV"."CARD" IS NOT NULL
    AND "EV"."CAMPAIGN" IS NOT NULL
    AND CAST("EV"."AT" AS DATE) <= DATE '2026-06-30'
  GROUP BY CAST("EV"."CAMPAIGN" AS VARCHAR), "EV"."CARD"
),
"MAIL_PERIODS" AS (
  SELECT m.*, DATE_TRUNC('MONTH', m.first_day) AS period_start FROM "MAIL_MESSAGES" AS m WHERE m.first_day >= DATEADD(MONTH, -2, DATE_TRUNC('MONTH', DATE '2026-06-30'))
),
"MAIL_TOTALS" AS (
  SELECT campaign, period_start, COALESCE(SUM("MESSAGES"), 0) AS "MESSAGES", COALESCE(SUM("RETURNED"), 0) AS "RETURNED" FROM "MAIL_PERIODS" GROUP BY campaign, period_start
  UNION ALL
  SELECT campaign, CAST(NULL AS DATE) AS period_start, COALESCE(SUM("MESSAGES"), 0) AS "MESSAGES", COALESCE(SUM("RETURNED"), 0) AS "RETURNED" FROM "MAIL_PERIODS" GROUP BY campaign
  UNION ALL
  SELECT CAST(NULL AS VARCHAR) AS campaign, period_start, COALESCE(SUM("MESSAGES"), 0) AS "MESSAGES", COALESCE(SUM("RETURNED"), 0) AS "RETURNED" FROM "MAIL_PERIODS" GROUP BY period_start
  UNION ALL
  SELECT CAST(NULL AS VARCHAR) AS campaign, CAST(NULL AS DATE) AS period_start, COALESCE(SUM("MESSAGES"), 0) AS "MESSAGES", COALESCE(SUM("RETURNED"), 0) AS "RETURNED" FROM "MAIL_PERIODS" HAVING COUNT(*) > 0
),
"PHONE_CALLS" AS (
  SELECT CAST("C"."CAMPAIGN" AS VARCHAR) AS campaign, DATE_TRUNC('MONTH', CAST("C"."CALLED_AT" AS DATE)) AS period_start, 1 AS calls,
    CASE WHEN (COALESCE("C"."OUTCOME" = 'answered', FALSE)) THEN 1 ELSE 0 END AS answered,
    CASE WHEN (COALESCE("C"."OUTCOME" = 'answered', FALSE)) THEN CAST(COALESCE("C"."SECONDS", 0) AS FLOAT) ELSE 0 END AS talk_seconds
  FROM "RAW"."CALLS" AS "C"
  WHERE "C"."CALLED_AT" IS NOT NULL
    AND CAST("C"."CALLED_AT" AS DATE) <= DATE '2026-06-30'
    AND CAST("C"."CALLED_AT" AS DATE) >= DATEADD(MONTH, -2, DATE_TRUNC('MONTH', DATE '2026-06-30'))
),
"PHONE_TOTALS" AS (
  SELECT campaign, period_start, COALESCE(SUM("CALLS"), 0) AS "CALLS", COALESCE(SUM("ANSWERED"), 0) AS "ANSWERED", COALESCE(SUM("TALK_SECONDS"), 0) AS "TALK_SECONDS" FROM "PHONE_CALLS" GROUP BY campaign, period_start
  UNION ALL
  SELECT campaign, CAST(NULL AS DATE) AS period_start, COALESCE(SUM("CALLS"), 0) AS "CALLS", COALESCE(SUM("ANSWERED"), 0) AS "ANSWERED", COALESCE(SUM("TALK_SECONDS"), 0) AS "TALK_SECONDS" FROM "PHONE_CALLS" GROUP BY campaign
  UNION ALL
  SELECT CAST(NULL AS VARCHAR) AS campaign, period_start, COALESCE(SUM("CALLS"), 0) AS "CALLS", COALESCE(SUM("ANSWERED"), 0) AS "ANSWERED", COALESCE(SUM("TALK_SECONDS"), 0) AS "TALK_SECONDS" FROM "PHONE_CALLS" GROUP BY period_start
  UNION ALL
  SELECT CAST(NULL AS VARCHAR) AS campaign, CAST(NULL AS DATE) AS period_start, COALESCE(SUM("CALLS"), 0) AS "CALLS", COALESCE(SUM("ANSWERED"), 0) AS "ANSWERED", COALESCE(SUM("TALK_SECONDS"), 0) AS "TALK_SECONDS" FROM "PHONE_CALLS" HAVING COUNT(*) > 0
),
"KPI_ROWS" AS (
  SELECT 'email' AS channel, "T".campaign, "T".period_start, 'messages' AS kpi, CAST("T"."MESSAGES" AS FLOAT) AS numerator, CAST(NULL AS FLOAT) AS denominator, CAST(NULL AS FLOAT) AS good, CAST(NULL AS FLOAT) AS bad, 'higher' AS better FROM "EMAIL_TOTALS" AS "T"
  UNION ALL
  SELECT 'email' AS channel, "T".campaign, "T".period_start, 'delivery_rate' AS kpi, CAST("T"."DELIVERED" AS FLOAT) AS numerator, CAST("T"."MESSAGES" AS FLOAT) AS denominator, CAST(0.99 AS FLOAT) AS good, CAST(NULL AS FLOAT) AS bad, 'higher' AS better FROM "EMAIL_TOTALS" AS "T"
  UNION ALL
  SELECT 'email' AS channel, "T".campaign, "T".period_start, 'bounce_rate' AS kpi, CAST("T"."BOUNCED" AS FLOAT) AS numerator, CAST("T"."MESSAGES" AS FLOAT) AS denominator, CAST(NULL AS FLOAT) AS good, CAST(NULL AS FLOAT) AS bad, 'lower' AS better FROM "EMAIL_TOTALS" AS "T"
  UNION ALL
  SELECT 'email' AS channel, "T".campaign, "T".period_start, 'open_rate' AS kpi, CAST("T"."OPENERS" AS FLOAT) AS numerator, CAST("T"."DELIVERED" AS FLOAT) AS denominator, CAST(0.5 AS FLOAT) AS good, CAST(0.2 AS FLOAT) AS bad, 'higher' AS better FROM "EMAIL_TOTALS" AS "T"
  UNION ALL
  SELECT 'email' AS channel, "T".campaign, "T".period_start, 'open_rate_human' AS kpi, CAST("T"."HUMAN_OPENERS" AS FLOAT) AS numerator, CAST("T"."DELIVERED" AS FLOAT) AS denominator, CAST(NULL AS FLOAT) AS good, CAST(NULL AS FLOAT) AS bad, 'higher' AS better FROM "EMAIL_TOTALS" AS "T"
  UNION ALL
  SELECT 'email' AS channel, "T".campaign, "T".period_start, 'click_rate' AS kpi, CAST("T"."CLICKERS" AS FLOAT) AS numerator, CAST("T"."DELIVERED" AS FLOAT) AS denominator, CAST(0.4 AS FLOAT) AS good, CAST(0.3 AS FLOAT) AS bad, 'higher' AS better FROM "EMAIL_TOTALS" AS "T"
  UNION ALL
  SELECT 'email' AS channel, "T".campaign, "T".period_start, 'click_to_open' AS kpi, CAST("T"."CLICKERS" AS FLOAT) AS numerator, CAST("T"."OPENERS" AS FLOAT) AS denominator, CAST(NULL AS FLOAT) AS good, CAST(NULL AS FLOAT) AS bad, 'higher' AS better FROM "EMAIL_TOTALS" AS "T"
  UNION ALL
  SELECT 'email' AS channel, "T".campaign, "T".period_start, 'click_to_open_human' AS kpi, CAST("T"."CLICKERS" AS FLOAT) AS numerator, CAST("T"."HUMAN_OPENERS" AS FLOAT) AS denominator, CAST(NULL AS FLOAT) AS good, CAST(NULL AS FLOAT) AS bad, 'higher' AS better FROM "EMAIL_TOTALS" AS "T"
  UNION ALL
  SELECT 'email' AS channel, "T".campaign, "T".period_start, 'unsubscribe_rate' AS kpi, CAST("T"."UNSUBSCRIBERS" AS FLOAT) AS numerator, CAST("T"."DELIVERED" AS FLOAT) AS denominator, CAST(0.001 AS FLOAT) AS good, CAST(0.002 AS FLOAT) AS bad, 'lower' AS better FROM "EMAIL_TOTALS" AS "T"
  UNION ALL
  SELECT 'email' AS channel, "T".campaign, "T".period_start, 'fatigue' AS kpi, CAST("T"."UNSUBSCRIBE_CLICKERS" AS FLOAT) AS numerator, CAST("T"."ALL_CLICKERS" AS FLOAT) AS denominator, CAST(NULL AS FLOAT) AS good, CAST(0.2 AS FLOAT) AS bad, 'lower' AS better FROM "EMAIL_TOTALS" AS "T"
  UNION ALL
  SELECT 'sms' AS channel, "T".campaign, "T".period_start, 'messages' AS kpi, CAST("T"."MESSAGES" AS FLOAT) AS numerator, CAST(NULL AS FLOAT) AS denominator, CAST(NULL AS FLOAT) AS good, CAST(NULL AS FLOAT) AS bad, 'higher' AS better FROM "SMS_TOTALS" AS "T"
  UNION ALL
  SELECT 'sms' AS channel, "T".campaign, "T".period_start, 'delivery_rate' AS kpi, CAST("T"."DELIVERED" AS FLOAT) AS numerator, CAST("T"."MESSAGES" AS FLOAT) AS denominator, CAST(NULL AS FLOAT) AS good, CAST(NULL AS FLOAT) AS bad, 'higher' AS better FROM "SMS_TOTALS" AS "T"
  UNION ALL
  SELECT 'sms' AS channel, "T".campaign, "T".period_start, 'click_rate' AS kpi, CAST("T"."CLICKERS" AS FLOAT) AS numerator, CAST("T"."DELIVERED" AS FLOAT) AS denominator, CAST(NULL AS FLOAT) AS good, CAST(NULL AS FLOAT) AS bad, 'higher' AS better FROM "SMS_TOTALS" AS "T"
  UNION ALL
  SELECT 'sms' AS channel, "T".campaign, "T".period_start, 'stop_rate' AS kpi, CAST("T"."STOPS" AS FLOAT) AS numerator, CAST("T"."DELIVERED" AS FLOAT) AS denominator, CAST(NULL AS FLOAT) AS good, CAST(NULL AS FLOAT) AS bad, 'lower' AS better FROM "SMS_TOTALS" AS "T"
  UNION ALL
  SELECT 'push' AS channel, "T".campaign, "T".period_start, 'messages' AS kpi, CAST("T"."MESSAGES" AS FLOAT) AS numerator, CAST(NULL AS FLOAT) AS denominator, CAST(NULL AS FLOAT) AS good, CAST(NULL AS FLOAT) AS bad, 'higher' AS better FROM "PUSH_TOTALS" AS "T"
  UNION ALL
  SELECT 'push' AS channel, "T".campaign, "T".period_start, 'display_rate' AS kpi, CAST("T"."DISPLAYED" AS FLOAT) AS numerator, CAST("T"."MESSAGES" AS FLOAT) AS denominator, CAST(NULL AS FLOAT) AS good, CAST(NULL AS FLOAT) AS bad, 'higher' AS better FROM "PUSH_TOTALS" AS "T"
  UNION ALL
  SELECT 'push' AS channel, "T".campaign, "T".period_start, 'reaction_rate' AS kpi, CAST("T"."REACTORS" AS FLOAT) AS numerator, CAST("T"."DISPLAYED" AS FLOAT) AS denominator, CAST(NULL AS FLOAT) AS good, CAST(NULL AS FLOAT) AS bad, 'higher' AS better FROM "PUSH_TOTALS" AS "T"
  UNION ALL
  SELECT 'mail' AS channel, "T".campaign, "T".period_start, 'messages' AS kpi, CAST("T"."MESSAGES" AS FLOAT) AS numerator, CAST(NULL AS FLOAT) AS denominator, CAST(NULL AS FLOAT) AS good, CAST(NULL AS FLOAT) AS bad, 'higher' AS better FROM "MAIL_TOTALS" AS "T"
  UNION ALL
  SELECT 'mail' AS channel, "T".campaign, "T".period_start, 'return_rate' AS kpi, CAST("T"."RETURNED" AS FLOAT) AS numerator, CAST("T"."MESSAGES" AS FLOAT) AS denominator, CAST(NULL AS FLOAT) AS good, CAST(NULL AS FLOAT) AS bad, 'lower' AS better FROM "MAIL_TOTALS" AS "T"
  UNION ALL
  SELECT 'phone' AS channel, "T".campaign, "T".period_start, 'calls' AS kpi, CAST("T"."CALLS" AS FLOAT) AS numerator, CAST(NULL AS FLOAT) AS denominator, CAST(NULL AS FLOAT) AS good, CAST(NULL AS FLOAT) AS bad, 'higher' AS better FROM "PHONE_TOTALS" AS "T"
  UNION ALL
  SELECT 'phone' AS channel, "T".campaign, "T".period_start, 'answer_rate' AS kpi, CAST("T"."ANSWERED" AS FLOAT) AS numerator, CAST("T"."CALLS" AS FLOAT) AS denominator, CAST(NULL AS FLOAT) AS good, CAST(NULL AS FLOAT) AS bad, 'higher' AS better FROM "PHONE_TOTALS" AS "T"
  UNION ALL
  SELECT 'phone' AS channel, "T".campaign, "T".period_start, 'average_call_seconds' AS kpi, CAST("T"."TALK_SECONDS" AS FLOAT) AS numerator, CAST("T"."ANSWERED" AS FLOAT) AS denominator, CAST(60 AS FLOAT) AS good, CAST(NULL AS FLOAT) AS bad, 'higher' AS better FROM "PHONE_TOTALS" AS "T"
),
"KPI_VALUES" AS (
  SELECT k.*, CASE WHEN k.denominator IS NULL THEN k.numerator ELSE k.numerator / NULLIF(k.denominator, 0) END AS value FROM "KPI_ROWS" AS k
)
SELECT v.channel, v.campaign, v.period_start, v.kpi, v.numerator, v.denominator, v.value, v.good, v.bad, v.better,
  CASE WHEN v.value IS NULL OR COALESCE(v.good, v.bad) IS NULL THEN NULL
    WHEN v.better = 'higher' THEN CASE WHEN v.value > COALESCE(v.good, v.bad) THEN 'good' WHEN v.value < COALESCE(v.bad, v.good) THEN 'bad' ELSE 'fair' END
    ELSE CASE WHEN v.value < COALESCE(v.good, v.bad) THEN 'good' WHEN v.value > COALESCE(v.bad, v.good) THEN 'bad' ELSE 'fair' END END AS status
FROM "KPI_VALUES" AS v;

-- program KPIs
CREATE TABLE "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_PROGRAMS" AS
WITH "ENTRIES" AS (
  SELECT x.audience, x.k, x.grp, x.entered_at FROM (
    SELECT CAST("M"."CAMPAIGN" AS VARCHAR) AS audience, CAST("M"."CUSTOMER_ID" AS VARCHAR) AS k, CAST("M"."GRP" AS VARCHAR) AS grp, CAST("M"."ASSIGNED_AT" AS TIMESTAMP_NTZ) AS entered_at,
      ROW_NUMBER() OVER (PARTITION BY "M"."CAMPAIGN", "M"."CUSTOMER_ID" ORDER BY "M"."ASSIGNED_AT", "M"."GRP") AS rn
    FROM "RAW"."ASSIGNMENTS" AS "M"
    WHERE "M"."CAMPAIGN" IS NOT NULL
      AND "M"."CUSTOMER_ID" IS NOT NULL
      AND "M"."GRP" IS NOT NULL
      AND "M"."ASSIGNED_AT" IS NOT NULL
      AND CAST("M"."ASSIGNED_AT" AS DATE) <= DATE '2026-06-30'
  ) AS x
  WHERE x.rn = 1
),
"FIRST_ORDERS" AS (
  SELECT k, MIN(ordered_at) AS first_at FROM "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_ORDERS" GROUP BY k
),
"PROGRAM_0" AS (
  SELECT f.k, f.first_at AS since, MAX(CASE WHEN o.k IS NULL THEN 0 ELSE 1 END) AS converted
  FROM "FIRST_ORDERS" AS f
  LEFT JOIN "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_ORDERS" AS o ON o.k = f.k AND o.ordered_at > f.first_at AND o.ordered_at <= DATEADD(DAY, 45, f.first_at)
  WHERE CAST(f.first_at AS DATE) >= DATEADD(MONTH, -2, DATE_TRUNC('MONTH', DATE '2026-06-30')) AND DATEADD(DAY, 45, f.first_at) <= CAST(DATE '2026-06-30' AS TIMESTAMP_NTZ)
  GROUP BY f.k, f.first_at
),
"PROGRAM_1" AS (
  SELECT e.k, e.entered_at AS since, MAX(CASE WHEN o.k IS NULL THEN 0 ELSE 1 END) AS converted
  FROM "ENTRIES" AS e
  LEFT JOIN "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_ORDERS" AS o ON o.k = e.k AND o.ordered_at > e.entered_at AND o.ordered_at <= DATEADD(DAY, 7, e.entered_at)
  WHERE e.audience IN ('newcombe') AND e.grp <> 'control'
    AND CAST(e.entered_at AS DATE) >= DATEADD(MONTH, -2, DATE_TRUNC('MONTH', DATE '2026-06-30')) AND DATEADD(DAY, 7, e.entered_at) <= CAST(DATE '2026-06-30' AS TIMESTAMP_NTZ)
  GROUP BY e.audience, e.k, e.entered_at
),
"PROGRAM_LIST" AS (
  SELECT 'activation' AS program, 'first-time buyers who ordered again within 45 days' AS kpi, 'repeat_within' AS measure, '45 days' AS within_length, 'newcombe' AS audiences, 'crm_activation' AS syncs, CAST(NULL AS FLOAT) AS good, CAST(NULL AS FLOAT) AS bad
  UNION ALL
  SELECT 'cart_recovery' AS program, 'carts recovered within 7 days' AS kpi, 'converted_within' AS measure, '7 days' AS within_length, 'newcombe' AS audiences, '' AS syncs, CAST(0.8 AS FLOAT) AS good, CAST(0.5 AS FLOAT) AS bad
),
"PROGRAM_SUBJECTS" AS (
  SELECT 'activation' AS program, DATE_TRUNC('MONTH', CAST(s.since AS DATE)) AS period_start, s.converted FROM "PROGRAM_0" AS s
  UNION ALL
  SELECT 'cart_recovery' AS program, DATE_TRUNC('MONTH', CAST(s.since AS DATE)) AS period_start, s.converted FROM "PROGRAM_1" AS s
),
"PROGRAM_COUNTS" AS (
  SELECT program, period_start, COUNT(*) AS base, SUM(converted) AS converted FROM "PROGRAM_SUBJECTS" GROUP BY program, period_start
  UNION ALL
  SELECT program, CAST(NULL AS DATE) AS period_start, COUNT(*) AS base, SUM(converted) AS converted FROM "PROGRAM_SUBJECTS" GROUP BY program
),
"PROGRAM_VALUES" AS (
  SELECT l.program, l.kpi, l.measure, l.within_length, l.audiences, l.syncs, c.period_start,
    CAST(COALESCE(c.base, 0) AS NUMBER(38,0)) AS base, CAST(COALESCE(c.converted, 0) AS NUMBER(38,0)) AS converted,
    CAST(c.converted AS FLOAT) / NULLIF(CAST(c.base AS FLOAT), 0) AS value, l.good, l.bad
  FROM "PROGRAM_LIST" AS l
  LEFT JOIN "PROGRAM_COUNTS" AS c ON c.program = l.program
)
SELECT v.program, v.kpi, v.measure, v.within_length, v.audiences, v.syncs, v.period_start, v.base, v.converted, CAST(v.value AS FLOAT) AS value, v.good, v.bad,
  CASE WHEN v.value IS NULL OR COALESCE(v.good, v.bad) IS NULL THEN NULL ELSE CASE WHEN v.value > COALESCE(v.good, v.bad) THEN 'good' WHEN v.value < COALESCE(v.bad, v.good) THEN 'bad' ELSE 'fair' END END AS status
FROM "PROGRAM_VALUES" AS v;

-- holdout uplift
CREATE TABLE "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_UPLIFT" AS
WITH "ENTRIES" AS (
  SELECT x.audience, x.k, x.grp, x.entered_at FROM (
    SELECT CAST("M"."CAMPAIGN" AS VARCHAR) AS audience, CAST("M"."CUSTOMER_ID" AS VARCHAR) AS k, CAST("M"."GRP" AS VARCHAR) AS grp, CAST("M"."ASSIGNED_AT" AS TIMESTAMP_NTZ) AS entered_at,
      ROW_NUMBER() OVER (PARTITION BY "M"."CAMPAIGN", "M"."CUSTOMER_ID" ORDER BY "M"."ASSIGNED_AT", "M"."GRP") AS rn
    FROM "RAW"."ASSIGNMENTS" AS "M"
    WHERE "M"."CAMPAIGN" IS NOT NULL
      AND "M"."CUSTOMER_ID" IS NOT NULL
      AND "M"."GRP" IS NOT NULL
      AND "M"."ASSIGNED_AT" IS NOT NULL
      AND CAST("M"."ASSIGNED_AT" AS DATE) <= DATE '2026-06-30'
  ) AS x
  WHERE x.rn = 1
),
"MEASURED" AS (
  SELECT e.*, CASE WHEN DATEADD(DAY, 30, e.entered_at) <= CAST(DATE '2026-06-30' AS TIMESTAMP_NTZ) THEN 1 ELSE 0 END AS complete
  FROM "ENTRIES" AS e
  WHERE e.audience IN (SELECT h.audience FROM "ENTRIES" AS h WHERE h.grp = 'control')
),
"OUTCOMES" AS (
  SELECT e.audience, e.grp, e.k, e.entered_at, COUNT(o.k) AS orders, COALESCE(SUM(o.revenue), 0) AS revenue
  FROM "MEASURED" AS e
  LEFT JOIN "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_ORDERS" AS o ON o.k = e.k AND o.ordered_at > e.entered_at AND o.ordered_at <= DATEADD(DAY, 30, e.entered_at)
  WHERE e.complete = 1
  GROUP BY e.audience, e.grp, e.k, e.entered_at
),
"GROUPS" AS (
  SELECT audience, grp, CAST(COUNT(*) AS FLOAT) AS n, CAST(SUM(CASE WHEN orders > 0 THEN 1 ELSE 0 END) AS FLOAT) AS converters,
    SUM(revenue) AS revenue, SUM(revenue * revenue) AS revenue_sq, MIN(entered_at) AS first_entry, MAX(entered_at) AS last_entry
  FROM "OUTCOMES"
  GROUP BY audience, grp
),
"PENDING" AS (
  SELECT audience, COUNT(*) AS pending FROM "MEASURED" WHERE complete = 0 GROUP BY audience
),
"PAIRS" AS (
  SELECT DISTINCT audience, grp AS treated_group FROM "MEASURED" WHERE grp <> 'control'
),
"STATS" AS (
  SELECT t.audience, t.grp AS treated_group,
    CASE WHEN t.first_entry < h.first_entry THEN t.first_entry ELSE h.first_entry END AS first_entry,
    CASE WHEN t.last_entry > h.last_entry THEN t.last_entry ELSE h.last_entry END AS last_entry,
    t.n AS n1, h.n AS n0, t.converters AS x1, h.converters AS x0,
    t.converters / t.n AS p1, h.converters / h.n AS p0,
    t.revenue / t.n AS m1, h.revenue / h.n AS m0,
    CASE WHEN t.n > 1 THEN CASE WHEN t.revenue_sq - t.revenue * t.revenue / t.n > 0 THEN (t.revenue_sq - t.revenue * t.revenue / t.n) / (t.n - 1) ELSE 0 END END AS v1, CASE WHEN h.n > 1 THEN CASE WHEN h.revenue_sq - h.revenue * h.revenue / h.n > 0 THEN (h.revenue_sq - h.revenue * h.revenue / h.n) / (h.n - 1) ELSE 0 END END AS v0
  FROM "GROUPS" AS t
  JOIN "GROUPS" AS h ON h.audience = t.audience AND h.grp = 'control'
  WHERE t.grp <> 'control'
),
"WILSON" AS (
  SELECT s.*,
    (s.p1 + 3.8414588206941254 / (2 * s.n1)) / (1 + 3.8414588206941254 / s.n1) - 1.959963984540054 / (1 + 3.8414588206941254 / s.n1) * SQRT(s.p1 * (1 - s.p1) / s.n1 + 3.8414588206941254 / (4 * s.n1 * s.n1)) AS l1,
    (s.p1 + 3.8414588206941254 / (2 * s.n1)) / (1 + 3.8414588206941254 / s.n1) + 1.959963984540054 / (1 + 3.8414588206941254 / s.n1) * SQRT(s.p1 * (1 - s.p1) / s.n1 + 3.8414588206941254 / (4 * s.n1 * s.n1)) AS u1,
    (s.p0 + 3.8414588206941254 / (2 * s.n0)) / (1 + 3.8414588206941254 / s.n0) - 1.959963984540054 / (1 + 3.8414588206941254 / s.n0) * SQRT(s.p0 * (1 - s.p0) / s.n0 + 3.8414588206941254 / (4 * s.n0 * s.n0)) AS l0,
    (s.p0 + 3.8414588206941254 / (2 * s.n0)) / (1 + 3.8414588206941254 / s.n0) + 1.959963984540054 / (1 + 3.8414588206941254 / s.n0) * SQRT(s.p0 * (1 - s.p0) / s.n0 + 3.8414588206941254 / (4 * s.n0 * s.n0)) AS u0,
    s.v1 / s.n1 + s.v0 / s.n0 AS se2,
    CASE WHEN s.v1 / s.n1 + s.v0 / s.n0 > 0
      THEN (s.v1 / s.n1 + s.v0 / s.n0) * (s.v1 / s.n1 + s.v0 / s.n0) / ((s.v1 / s.n1) * (s.v1 / s.n1) / (s.n1 - 1) + (s.v0 / s.n0) * (s.v0 / s.n0) / (s.n0 - 1)) END AS df
  FROM "STATS" AS s
),
"INTERVALS" AS (
  SELECT w.*,
    w.p1 - w.p0 - SQRT((w.p1 - w.l1) * (w.p1 - w.l1) + (w.u0 - w.p0) * (w.u0 - w.p0)) AS conversion_uplift_low,
    w.p1 - w.p0 + SQRT((w.u1 - w.p1) * (w.u1 - w.p1) + (w.p0 - w.l0) * (w.p0 - w.l0)) AS conversion_uplift_high,
    CASE WHEN w.x1 > 0 AND w.x0 > 0 THEN LN(w.p1 / w.p0) END AS log_rr,
    CASE WHEN w.x1 > 0 AND w.x0 > 0 THEN SQRT(1 / w.x1 - 1 / w.n1 + 1 / w.x0 - 1 / w.n0) END AS log_rr_se,
    w.m1 - w.m0 - CASE WHEN w.df IS NULL THEN 1.959963984540054 ELSE 1.959963984540054 + 2.372271230298562 / w.df + 2.8224986157396112 / (w.df * w.df) + 2.555849679507722 / (w.df * w.df * w.df) + 1.5895340533938225 / (w.df * w.df * w.df * w.df) END * SQRT(w.se2) AS revenue_uplift_low,
    w.m1 - w.m0 + CASE WHEN w.df IS NULL THEN 1.959963984540054 ELSE 1.959963984540054 + 2.372271230298562 / w.df + 2.8224986157396112 / (w.df * w.df) + 2.555849679507722 / (w.df * w.df * w.df) + 1.5895340533938225 / (w.df * w.df * w.df * w.df) END * SQRT(w.se2) AS revenue_uplift_high,
    CASE WHEN w.m1 > 0 AND w.m0 > 0 THEN LN(w.m1 / w.m0) END AS log_ratio,
    CASE WHEN w.m1 > 0 AND w.m0 > 0 THEN SQRT(w.v1 / (w.n1 * w.m1 * w.m1) + w.v0 / (w.n0 * w.m0 * w.m0)) END AS log_ratio_se
  FROM "WILSON" AS w
)
SELECT g.audience, g.treated_group, '30 days' AS window_length, i.first_entry, i.last_entry,
  CAST(COALESCE(i.n1, 0) AS NUMBER(38,0)) AS treated, CAST(COALESCE(i.n0, 0) AS NUMBER(38,0)) AS holdout, CAST(COALESCE(p.pending, 0) AS NUMBER(38,0)) AS pending,
  CAST(COALESCE(i.x1, 0) AS NUMBER(38,0)) AS treated_converters, CAST(COALESCE(i.x0, 0) AS NUMBER(38,0)) AS holdout_converters,
  i.p1 AS treated_conversion, i.p0 AS holdout_conversion,
  i.p1 - i.p0 AS conversion_uplift, i.conversion_uplift_low, i.conversion_uplift_high,
  CASE WHEN i.p0 > 0 THEN i.p1 / i.p0 - 1 END AS conversion_relative,
  EXP(i.log_rr - 1.959963984540054 * i.log_rr_se) - 1 AS conversion_relative_low,
  EXP(i.log_rr + 1.959963984540054 * i.log_rr_se) - 1 AS conversion_relative_high,
  i.m1 AS treated_revenue_per_customer, i.m0 AS holdout_revenue_per_customer,
  i.m1 - i.m0 AS revenue_uplift, i.revenue_uplift_low, i.revenue_uplift_high,
  CASE WHEN i.m0 > 0 THEN i.m1 / i.m0 - 1 END AS revenue_relative,
  EXP(i.log_ratio - 1.959963984540054 * i.log_ratio_se) - 1 AS revenue_relative_low,
  EXP(i.log_ratio + 1.959963984540054 * i.log_ratio_se) - 1 AS revenue_relative_high,
  i.df AS revenue_df,
  CASE WHEN COALESCE(i.n1, 0) < 20 OR COALESCE(i.n0, 0) < 20 THEN TRUE ELSE FALSE END AS too_small,
  CASE WHEN i.conversion_uplift_low > 0 OR i.conversion_uplift_high < 0 THEN TRUE ELSE FALSE END AS conversion_significant,
  CASE WHEN i.revenue_uplift_low > 0 OR i.revenue_uplift_high < 0 THEN TRUE ELSE FALSE END AS revenue_significant
FROM "PAIRS" AS g
LEFT JOIN "INTERVALS" AS i ON i.audience = g.audience AND i.treated_group = g.treated_group
LEFT JOIN "PENDING" AS p ON p.audience = g.audience;

-- cohorts by month of first purchase
CREATE TABLE "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_COHORTS" AS
WITH "FIRST_PURCHASES" AS (
  SELECT k, MIN(order_day) AS first_day FROM "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_ORDERS" GROUP BY k
),
"COHORT_MEMBERS" AS (
  SELECT k, first_day, DATE_TRUNC('MONTH', first_day) AS cohort_month FROM "FIRST_PURCHASES" WHERE first_day >= DATEADD(MONTH, -11, DATE_TRUNC('MONTH', DATE '2026-06-30')) AND first_day <= DATE '2026-06-30'
),
"COHORT_CUSTOMERS" AS (
  SELECT c.cohort_month, c.k,
    SUM(CASE WHEN o.order_day = c.first_day THEN o.revenue ELSE 0 END) AS revenue_0,
    SUM(CASE WHEN o.order_day <= DATEADD(MONTH, 1, c.first_day) THEN o.revenue ELSE 0 END) AS "REVENUE_1",
    MAX(CASE WHEN o.order_day > c.first_day AND o.order_day <= DATEADD(MONTH, 1, c.first_day) THEN 1 ELSE 0 END) AS "REPEAT_1",
    SUM(CASE WHEN o.order_day <= DATEADD(MONTH, 2, c.first_day) THEN o.revenue ELSE 0 END) AS "REVENUE_2",
    MAX(CASE WHEN o.order_day > c.first_day AND o.order_day <= DATEADD(MONTH, 2, c.first_day) THEN 1 ELSE 0 END) AS "REPEAT_2",
    SUM(CASE WHEN o.order_day <= DATEADD(MONTH, 3, c.first_day) THEN o.revenue ELSE 0 END) AS "REVENUE_3",
    MAX(CASE WHEN o.order_day > c.first_day AND o.order_day <= DATEADD(MONTH, 3, c.first_day) THEN 1 ELSE 0 END) AS "REPEAT_3",
    SUM(CASE WHEN o.order_day <= DATEADD(MONTH, 6, c.first_day) THEN o.revenue ELSE 0 END) AS "REVENUE_6",
    MAX(CASE WHEN o.order_day > c.first_day AND o.order_day <= DATEADD(MONTH, 6, c.first_day) THEN 1 ELSE 0 END) AS "REPEAT_6",
    SUM(CASE WHEN o.order_day <= DATEADD(MONTH, 12, c.first_day) THEN o.revenue ELSE 0 END) AS "REVENUE_12",
    MAX(CASE WHEN o.order_day > c.first_day AND o.order_day <= DATEADD(MONTH, 12, c.first_day) THEN 1 ELSE 0 END) AS "REPEAT_12"
  FROM "COHORT_MEMBERS" AS c
  LEFT JOIN "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_ORDERS" AS o ON o.k = c.k AND o.order_day >= c.first_day
  GROUP BY c.cohort_month, c.k
),
"COHORT_TOTALS" AS (
  SELECT cohort_month, COUNT(*) AS customers, SUM(revenue_0) AS revenue_0, SUM("REVENUE_1") AS "REVENUE_1", SUM("REPEAT_1") AS "REPEAT_1", SUM("REVENUE_2") AS "REVENUE_2", SUM("REPEAT_2") AS "REPEAT_2", SUM("REVENUE_3") AS "REVENUE_3", SUM("REPEAT_3") AS "REPEAT_3", SUM("REVENUE_6") AS "REVENUE_6", SUM("REPEAT_6") AS "REPEAT_6", SUM("REVENUE_12") AS "REVENUE_12", SUM("REPEAT_12") AS "REPEAT_12" FROM "COHORT_CUSTOMERS" GROUP BY cohort_month
)
SELECT "T".cohort_month, CAST("T".customers AS NUMBER(38,0)) AS customers, 1 AS months_after, CASE WHEN DATEADD(MONTH, 2, "T".cohort_month) <= DATEADD(DAY, 1, DATE '2026-06-30') THEN TRUE ELSE FALSE END AS complete,
  CASE WHEN DATEADD(MONTH, 2, "T".cohort_month) <= DATEADD(DAY, 1, DATE '2026-06-30') THEN CAST("T"."REPEAT_1" AS NUMBER(38,0)) END AS repeat_customers,
  CASE WHEN DATEADD(MONTH, 2, "T".cohort_month) <= DATEADD(DAY, 1, DATE '2026-06-30') THEN CAST("T"."REPEAT_1" AS FLOAT) / NULLIF(CAST("T".customers AS FLOAT), 0) END AS repeat_rate,
  CAST("T".revenue_0 AS FLOAT) / NULLIF(CAST("T".customers AS FLOAT), 0) AS first_day_revenue_per_customer,
  CASE WHEN DATEADD(MONTH, 2, "T".cohort_month) <= DATEADD(DAY, 1, DATE '2026-06-30') THEN CAST("T"."REVENUE_1" AS FLOAT) / NULLIF(CAST("T".customers AS FLOAT), 0) END AS revenue_per_customer,
  CASE WHEN DATEADD(MONTH, 2, "T".cohort_month) <= DATEADD(DAY, 1, DATE '2026-06-30') THEN 100 * CAST("T"."REVENUE_1" AS FLOAT) / NULLIF(CAST("T".revenue_0 AS FLOAT), 0) END AS revenue_index
FROM "COHORT_TOTALS" AS "T"
UNION ALL
SELECT "T".cohort_month, CAST("T".customers AS NUMBER(38,0)) AS customers, 2 AS months_after, CASE WHEN DATEADD(MONTH, 3, "T".cohort_month) <= DATEADD(DAY, 1, DATE '2026-06-30') THEN TRUE ELSE FALSE END AS complete,
  CASE WHEN DATEADD(MONTH, 3, "T".cohort_month) <= DATEADD(DAY, 1, DATE '2026-06-30') THEN CAST("T"."REPEAT_2" AS NUMBER(38,0)) END AS repeat_customers,
  CASE WHEN DATEADD(MONTH, 3, "T".cohort_month) <= DATEADD(DAY, 1, DATE '2026-06-30') THEN CAST("T"."REPEAT_2" AS FLOAT) / NULLIF(CAST("T".customers AS FLOAT), 0) END AS repeat_rate,
  CAST("T".revenue_0 AS FLOAT) / NULLIF(CAST("T".customers AS FLOAT), 0) AS first_day_revenue_per_customer,
  CASE WHEN DATEADD(MONTH, 3, "T".cohort_month) <= DATEADD(DAY, 1, DATE '2026-06-30') THEN CAST("T"."REVENUE_2" AS FLOAT) / NULLIF(CAST("T".customers AS FLOAT), 0) END AS revenue_per_customer,
  CASE WHEN DATEADD(MONTH, 3, "T".cohort_month) <= DATEADD(DAY, 1, DATE '2026-06-30') THEN 100 * CAST("T"."REVENUE_2" AS FLOAT) / NULLIF(CAST("T".revenue_0 AS FLOAT), 0) END AS revenue_index
FROM "COHORT_TOTALS" AS "T"
UNION ALL
SELECT "T".cohort_month, CAST("T".customers AS NUMBER(38,0)) AS customers, 3 AS months_after, CASE WHEN DATEADD(MONTH, 4, "T".cohort_month) <= DATEADD(DAY, 1, DATE '2026-06-30') THEN TRUE ELSE FALSE END AS complete,
  CASE WHEN DATEADD(MONTH, 4, "T".cohort_month) <= DATEADD(DAY, 1, DATE '2026-06-30') THEN CAST("T"."REPEAT_3" AS NUMBER(38,0)) END AS repeat_customers,
  CASE WHEN DATEADD(MONTH, 4, "T".cohort_month) <= DATEADD(DAY, 1, DATE '2026-06-30') THEN CAST("T"."REPEAT_3" AS FLOAT) / NULLIF(CAST("T".customers AS FLOAT), 0) END AS repeat_rate,
  CAST("T".revenue_0 AS FLOAT) / NULLIF(CAST("T".customers AS FLOAT), 0) AS first_day_revenue_per_customer,
  CASE WHEN DATEADD(MONTH, 4, "T".cohort_month) <= DATEADD(DAY, 1, DATE '2026-06-30') THEN CAST("T"."REVENUE_3" AS FLOAT) / NULLIF(CAST("T".customers AS FLOAT), 0) END AS revenue_per_customer,
  CASE WHEN DATEADD(MONTH, 4, "T".cohort_month) <= DATEADD(DAY, 1, DATE '2026-06-30') THEN 100 * CAST("T"."REVENUE_3" AS FLOAT) / NULLIF(CAST("T".revenue_0 AS FLOAT), 0) END AS revenue_index
FROM "COHORT_TOTALS" AS "T"
UNION ALL
SELECT "T".cohort_month, CAST("T".customers AS NUMBER(38,0)) AS customers, 6 AS months_after, CASE WHEN DATEADD(MONTH, 7, "T".cohort_month) <= DATEADD(DAY, 1, DATE '2026-06-30') THEN TRUE ELSE FALSE END AS complete,
  CASE WHEN DATEADD(MONTH, 7, "T".cohort_month) <= DATEADD(DAY, 1, DATE '2026-06-30') THEN CAST("T"."REPEAT_6" AS NUMBER(38,0)) END AS repeat_customers,
  CASE WHEN DATEADD(MONTH, 7, "T".cohort_month) <= DATEADD(DAY, 1, DATE '2026-06-30') THEN CAST("T"."REPEAT_6" AS FLOAT) / NULLIF(CAST("T".customers AS FLOAT), 0) END AS repeat_rate,
  CAST("T".revenue_0 AS FLOAT) / NULLIF(CAST("T".customers AS FLOAT), 0) AS first_day_revenue_per_customer,
  CASE WHEN DATEADD(MONTH, 7, "T".cohort_month) <= DATEADD(DAY, 1, DATE '2026-06-30') THEN CAST("T"."REVENUE_6" AS FLOAT) / NULLIF(CAST("T".customers AS FLOAT), 0) END AS revenue_per_customer,
  CASE WHEN DATEADD(MONTH, 7, "T".cohort_month) <= DATEADD(DAY, 1, DATE '2026-06-30') THEN 100 * CAST("T"."REVENUE_6" AS FLOAT) / NULLIF(CAST("T".revenue_0 AS FLOAT), 0) END AS revenue_index
FROM "COHORT_TOTALS" AS "T"
UNION ALL
SELECT "T".cohort_month, CAST("T".customers AS NUMBER(38,0)) AS customers, 12 AS months_after, CASE WHEN DATEADD(MONTH, 13, "T".cohort_month) <= DATEADD(DAY, 1, DATE '2026-06-30') THEN TRUE ELSE FALSE END AS complete,
  CASE WHEN DATEADD(MONTH, 13, "T".cohort_month) <= DATEADD(DAY, 1, DATE '2026-06-30') THEN CAST("T"."REPEAT_12" AS NUMBER(38,0)) END AS repeat_customers,
  CASE WHEN DATEADD(MONTH, 13, "T".cohort_month) <= DATEADD(DAY, 1, DATE '2026-06-30') THEN CAST("T"."REPEAT_12" AS FLOAT) / NULLIF(CAST("T".customers AS FLOAT), 0) END AS repeat_rate,
  CAST("T".revenue_0 AS FLOAT) / NULLIF(CAST("T".customers AS FLOAT), 0) AS first_day_revenue_per_customer,
  CASE WHEN DATEADD(MONTH, 13, "T".cohort_month) <= DATEADD(DAY, 1, DATE '2026-06-30') THEN CAST("T"."REVENUE_12" AS FLOAT) / NULLIF(CAST("T".customers AS FLOAT), 0) END AS revenue_per_customer,
  CASE WHEN DATEADD(MONTH, 13, "T".cohort_month) <= DATEADD(DAY, 1, DATE '2026-06-30') THEN 100 * CAST("T"."REVENUE_12" AS FLOAT) / NULLIF(CAST("T".revenue_0 AS FLOAT), 0) END AS revenue_index
FROM "COHORT_TOTALS" AS "T";

-- revenue per segment
CREATE TABLE "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_SEGMENTS" AS
WITH "SNAPSHOTS" AS (
  SELECT CAST("R"."SNAPSHOT_DATE" AS DATE) AS snapshot_date, CAST("R"."CUSTOMER_ID" AS VARCHAR) AS k, CAST("R"."SEGMENT" AS VARCHAR) AS segment
  FROM "RAW"."RFM_SNAPSHOTS" AS "R"
  WHERE "R"."CUSTOMER_ID" IS NOT NULL AND "R"."SNAPSHOT_DATE" IS NOT NULL AND CAST("R"."SNAPSHOT_DATE" AS DATE) <= DATE '2026-06-30'
),
"LATEST" AS (
  SELECT MAX(snapshot_date) AS snapshot_date FROM "SNAPSHOTS"
),
"SEGMENT_MEMBERS" AS (
  SELECT s.snapshot_date, s.k, s.segment FROM "SNAPSHOTS" AS s JOIN "LATEST" AS l ON l.snapshot_date = s.snapshot_date
),
"CUSTOMER_REVENUE" AS (
  SELECT k, COUNT(*) AS orders, SUM(revenue) AS revenue FROM "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_ORDERS"
  WHERE order_day > DATEADD(MONTH, -12, DATE '2026-06-30')
  GROUP BY k
)
SELECT m.snapshot_date, m.segment, CAST(COUNT(*) AS NUMBER(38,0)) AS customers, CAST(COUNT(*) AS FLOAT) / NULLIF(CAST(SUM(COUNT(*)) OVER () AS FLOAT), 0) AS customer_share,
  CAST(SUM(COALESCE(r.orders, 0)) AS NUMBER(38,0)) AS orders, SUM(COALESCE(r.revenue, 0)) AS revenue, CAST(SUM(COALESCE(r.revenue, 0)) AS FLOAT) / NULLIF(CAST(SUM(SUM(COALESCE(r.revenue, 0))) OVER () AS FLOAT), 0) AS revenue_share, CAST(SUM(COALESCE(r.revenue, 0)) AS FLOAT) / NULLIF(CAST(COUNT(*) AS FLOAT), 0) AS revenue_per_customer
FROM "SEGMENT_MEMBERS" AS m
LEFT JOIN "CUSTOMER_REVENUE" AS r ON r.k = m.k
GROUP BY m.snapshot_date, m.segment;

-- segment migration
CREATE TABLE "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_MIGRATION" AS
WITH "SNAPSHOTS" AS (
  SELECT CAST("R"."SNAPSHOT_DATE" AS DATE) AS snapshot_date, CAST("R"."CUSTOMER_ID" AS VARCHAR) AS k, CAST("R"."SEGMENT" AS VARCHAR) AS segment
  FROM "RAW"."RFM_SNAPSHOTS" AS "R"
  WHERE "R"."CUSTOMER_ID" IS NOT NULL AND "R"."SNAPSHOT_DATE" IS NOT NULL AND CAST("R"."SNAPSHOT_DATE" AS DATE) <= DATE '2026-06-30'
),
"BOUNDS" AS (
  SELECT MAX(p.snapshot_date) AS from_date, l.to_date
  FROM (SELECT MAX(snapshot_date) AS to_date FROM "SNAPSHOTS") AS l
  LEFT JOIN "SNAPSHOTS" AS p ON p.snapshot_date < DATE_TRUNC('MONTH', l.to_date)
  GROUP BY l.to_date
),
"MOVES_FROM" AS (
  SELECT s.k, s.segment FROM "SNAPSHOTS" AS s JOIN "BOUNDS" AS x ON s.snapshot_date = x.from_date
),
"MOVES_TO" AS (
  SELECT s.k, s.segment FROM "SNAPSHOTS" AS s JOIN "BOUNDS" AS x ON s.snapshot_date = x.to_date
),
"MOVES" AS (
  SELECT f.segment AS from_segment, t.segment AS to_segment FROM "MOVES_FROM" AS f FULL OUTER JOIN "MOVES_TO" AS t ON t.k = f.k
)
SELECT x.from_date, x.to_date, m.from_segment, m.to_segment, CAST(COUNT(*) AS NUMBER(38,0)) AS customers,
  CAST(COUNT(*) AS FLOAT) / NULLIF(CAST(SUM(COUNT(*)) OVER (PARTITION BY m.from_segment) AS FLOAT), 0) AS share
FROM "MOVES" AS m
CROSS JOIN "BOUNDS" AS x
WHERE x.from_date IS NOT NULL AND x.to_date IS NOT NULL
GROUP BY x.from_date, x.to_date, m.from_segment, m.to_segment;

-- scorecard
CREATE TABLE "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_BUILD" AS
SELECT 'channel' AS section, k.channel AS subject, k.kpi, k.value, CAST(NULL AS FLOAT) AS low, CAST(NULL AS FLOAT) AS high, k.status,
  CASE WHEN k.status = 'bad' THEN TRUE ELSE FALSE END AS flagged, DATE '2026-06-30' AS as_of
FROM "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_KPIS" AS k
WHERE k.campaign IS NULL AND k.period_start IS NULL
UNION ALL
SELECT 'program' AS section, p.program AS subject, p.kpi, p.value, CAST(NULL AS FLOAT) AS low, CAST(NULL AS FLOAT) AS high, p.status,
  CASE WHEN p.status = 'bad' THEN TRUE ELSE FALSE END AS flagged, DATE '2026-06-30' AS as_of
FROM "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_PROGRAMS" AS p
WHERE p.period_start IS NULL
UNION ALL
SELECT 'uplift' AS section, u.audience || ' / ' || u.treated_group AS subject, 'conversion_uplift' AS kpi,
  u.conversion_uplift AS value, u.conversion_uplift_low AS low, u.conversion_uplift_high AS high,
  CASE WHEN u.too_small THEN 'too_small' WHEN u.conversion_significant THEN 'significant' ELSE 'not_significant' END AS status, CASE WHEN u.too_small THEN TRUE ELSE FALSE END AS flagged, DATE '2026-06-30' AS as_of
FROM "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_UPLIFT" AS u
UNION ALL
SELECT 'uplift' AS section, u.audience || ' / ' || u.treated_group AS subject, 'revenue_uplift' AS kpi,
  u.revenue_uplift AS value, u.revenue_uplift_low AS low, u.revenue_uplift_high AS high,
  CASE WHEN u.too_small THEN 'too_small' WHEN u.revenue_significant THEN 'significant' ELSE 'not_significant' END AS status, CASE WHEN u.too_small THEN TRUE ELSE FALSE END AS flagged, DATE '2026-06-30' AS as_of
FROM "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_UPLIFT" AS u;

-- swap in
CREATE OR REPLACE TABLE "ANALYTICS"."SHOP_REPORT_KPIS" CLONE "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_KPIS";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_KPIS";
CREATE OR REPLACE TABLE "ANALYTICS"."SHOP_REPORT_PROGRAMS" CLONE "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_PROGRAMS";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_PROGRAMS";
CREATE OR REPLACE TABLE "ANALYTICS"."SHOP_REPORT_UPLIFT" CLONE "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_UPLIFT";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_UPLIFT";
CREATE OR REPLACE TABLE "ANALYTICS"."SHOP_REPORT_COHORTS" CLONE "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_COHORTS";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_COHORTS";
CREATE OR REPLACE TABLE "ANALYTICS"."SHOP_REPORT_SEGMENTS" CLONE "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_SEGMENTS";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_SEGMENTS";
CREATE OR REPLACE TABLE "ANALYTICS"."SHOP_REPORT_MIGRATION" CLONE "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_MIGRATION";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_MIGRATION";
CREATE OR REPLACE TABLE "ANALYTICS"."SHOP_REPORT" CLONE "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_BUILD";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_BUILD";

-- clean up
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."SHOP_REPORT__TL_ORDERS";
