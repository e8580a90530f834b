-- shop_report (report) for target bigquery (bigquery)
-- Built into `analytics__tl_work`.`shop_report__tl_build`, `analytics__tl_work`.`shop_report__tl_kpis`, `analytics__tl_work`.`shop_report__tl_programs`, `analytics__tl_work`.`shop_report__tl_uplift`, `analytics__tl_work`.`shop_report__tl_cohorts`, `analytics__tl_work`.`shop_report__tl_segments`, `analytics__tl_work`.`shop_report__tl_migration`, then swapped in by atomic replaces, the model last.

DROP TABLE IF EXISTS `analytics__tl_work`.`shop_report__tl_build`;
DROP TABLE IF EXISTS `analytics__tl_work`.`shop_report__tl_kpis`;
DROP TABLE IF EXISTS `analytics__tl_work`.`shop_report__tl_programs`;
DROP TABLE IF EXISTS `analytics__tl_work`.`shop_report__tl_uplift`;
DROP TABLE IF EXISTS `analytics__tl_work`.`shop_report__tl_cohorts`;
DROP TABLE IF EXISTS `analytics__tl_work`.`shop_report__tl_segments`;
DROP TABLE IF EXISTS `analytics__tl_work`.`shop_report__tl_migration`;
DROP TABLE IF EXISTS `analytics__tl_work`.`shop_report__tl_orders`;

-- orders counted by the report
CREATE TABLE `analytics__tl_work`.`shop_report__tl_orders` AS
SELECT CAST(`o`.`customer_id` AS STRING) AS k, CAST(`o`.`ordered_at` AS TIMESTAMP) AS ordered_at, CAST(`o`.`ordered_at` AS DATE) AS order_day, CAST(COALESCE(`o`.`amount`, 0) AS FLOAT64) AS revenue
FROM `raw`.`orders` AS `o`
WHERE `o`.`customer_id` IS NOT NULL
  AND `o`.`ordered_at` IS NOT NULL
  AND CAST(`o`.`ordered_at` AS DATE) <= DATE '2026-06-30'
  AND COALESCE(`o`.`status` = 'completed', FALSE);

-- channel KPIs per campaign and period
CREATE TABLE `analytics__tl_work`.`shop_report__tl_kpis` AS
WITH `email_messages` AS (
  SELECT CAST(`ev`.`campaign_id` AS STRING) AS campaign, `ev`.`customer_id` AS customer, MIN(CAST(`ev`.`occurred_at` AS DATE)) AS first_day,
    MAX(CASE WHEN `ev`.`event_type` IN ('sent', 'delivered', 'bounced') THEN 1 ELSE 0 END) AS `messages`,
    MAX(CASE WHEN `ev`.`event_type` IN ('delivered') THEN 1 ELSE 0 END) AS `delivered`,
    MAX(CASE WHEN `ev`.`event_type` IN ('bounced') THEN 1 ELSE 0 END) AS `bounced`,
    MAX(CASE WHEN `ev`.`event_type` IN ('opened') THEN 1 ELSE 0 END) AS `openers`,
    MAX(CASE WHEN `ev`.`event_type` IN ('opened') AND NOT COALESCE(`ev`.`machine_open`, FALSE) THEN 1 ELSE 0 END) AS `human_openers`,
    MAX(CASE WHEN `ev`.`event_type` IN ('clicked') AND NOT (`ev`.`event_type` IN ('unsubscribed')) THEN 1 ELSE 0 END) AS `clickers`,
    MAX(CASE WHEN `ev`.`event_type` IN ('unsubscribed') THEN 1 ELSE 0 END) AS `unsubscribers`,
    MAX(CASE WHEN `ev`.`event_type` IN ('unsubscribed') THEN 1 ELSE 0 END) AS `unsubscribe_clickers`,
    MAX(CASE WHEN (`ev`.`event_type` IN ('clicked') OR `ev`.`event_type` IN ('unsubscribed')) THEN 1 ELSE 0 END) AS `all_clickers`
  FROM `raw`.`email_events` AS `ev`
  WHERE `ev`.`customer_id` IS NOT NULL
    AND `ev`.`campaign_id` IS NOT NULL
    AND CAST(`ev`.`occurred_at` AS DATE) <= DATE '2026-06-30'
  GROUP BY CAST(`ev`.`campaign_id` AS STRING), `ev`.`customer_id`
),
`email_periods` AS (
  SELECT m.*, DATE_TRUNC(m.first_day, MONTH) AS period_start FROM `email_messages` AS m WHERE m.first_day >= DATE_ADD(DATE_TRUNC(DATE '2026-06-30', MONTH), INTERVAL -2 MONTH)
),
`email_totals` AS (
  SELECT campaign, period_start, COALESCE(SUM(`messages`), 0) AS `messages`, COALESCE(SUM(`delivered`), 0) AS `delivered`, COALESCE(SUM(`bounced`), 0) AS `bounced`, COALESCE(SUM(`openers`), 0) AS `openers`, COALESCE(SUM(`human_openers`), 0) AS `human_openers`, COALESCE(SUM(`clickers`), 0) AS `clickers`, COALESCE(SUM(`unsubscribers`), 0) AS `unsubscribers`, COALESCE(SUM(`unsubscribe_clickers`), 0) AS `unsubscribe_clickers`, COALESCE(SUM(`all_clickers`), 0) AS `all_clickers` FROM `email_periods` GROUP BY campaign, period_start
  UNION ALL
  SELECT campaign, CAST(NULL AS DATE) AS period_start, COALESCE(SUM(`messages`), 0) AS `messages`, COALESCE(SUM(`delivered`), 0) AS `delivered`, COALESCE(SUM(`bounced`), 0) AS `bounced`, COALESCE(SUM(`openers`), 0) AS `openers`, COALESCE(SUM(`human_openers`), 0) AS `human_openers`, COALESCE(SUM(`clickers`), 0) AS `clickers`, COALESCE(SUM(`unsubscribers`), 0) AS `unsubscribers`, COALESCE(SUM(`unsubscribe_clickers`), 0) AS `unsubscribe_clickers`, COALESCE(SUM(`all_clickers`), 0) AS `all_clickers` FROM `email_periods` GROUP BY campaign
  UNION ALL
  SELECT CAST(NULL AS STRING) AS campaign, period_start, COALESCE(SUM(`messages`), 0) AS `messages`, COALESCE(SUM(`delivered`), 0) AS `delivered`, COALESCE(SUM(`bounced`), 0) AS `bounced`, COALESCE(SUM(`openers`), 0) AS `openers`, COALESCE(SUM(`human_openers`), 0) AS `human_openers`, COALESCE(SUM(`clickers`), 0) AS `clickers`, COALESCE(SUM(`unsubscribers`), 0) AS `unsubscribers`, COALESCE(SUM(`unsubscribe_clickers`), 0) AS `unsubscribe_clickers`, COALESCE(SUM(`all_clickers`), 0) AS `all_clickers` FROM `email_periods` GROUP BY period_start
  UNION ALL
  SELECT CAST(NULL AS STRING) AS campaign, CAST(NULL AS DATE) AS period_start, COALESCE(SUM(`messages`), 0) AS `messages`, COALESCE(SUM(`delivered`), 0) AS `delivered`, COALESCE(SUM(`bounced`), 0) AS `bounced`, COALESCE(SUM(`openers`), 0) AS `openers`, COALESCE(SUM(`human_openers`), 0) AS `human_openers`, COALESCE(SUM(`clickers`), 0) AS `clickers`, COALESCE(SUM(`unsubscribers`), 0) AS `unsubscribers`, COALESCE(SUM(`unsubscribe_clickers`), 0) AS `unsubscribe_clickers`, COALESCE(SUM(`all_clickers`), 0) AS `all_clickers` FROM `email_periods` HAVING COUNT(*) > 0
),
`sms_messages` AS (
  SELECT CAST(`ev`.`campaign` AS STRING) AS campaign, `ev`.`phone` AS customer, MIN(CAST(`ev`.`at` AS DATE)) AS first_day,
    MAX(CASE WHEN `ev`.`status` IN ('SENT', 'DELIVERED') THEN 1 ELSE 0 END) AS `messages`,
    MAX(CASE WHEN `ev`.`status` IN ('DELIVERED') THEN 1 ELSE 0 END) AS `delivered`,
    MAX(CASE WHEN `ev`.`status` IN ('CLICK') THEN 1 ELSE 0 END) AS `clickers`,
    MAX(CASE WHEN `ev`.`status` IN ('STOP', 'STOP_ALL') THEN 1 ELSE 0 END) AS `stops`
  FROM `raw`.`sms_events` AS `ev`
  WHERE `ev`.`phone` IS NOT NULL
    AND `ev`.`campaign` IS NOT NULL
    AND CAST(`ev`.`at` AS DATE) <= DATE '2026-06-30'
  GROUP BY CAST(`ev`.`campaign` AS STRING), `ev`.`phone`
),
`sms_periods` AS (
  SELECT m.*, DATE_TRUNC(m.first_day, MONTH) AS period_start FROM `sms_messages` AS m WHERE m.first_day >= DATE_ADD(DATE_TRUNC(DATE '2026-06-30', MONTH), INTERVAL -2 MONTH)
),
`sms_totals` AS (
  SELECT campaign, period_start, COALESCE(SUM(`messages`), 0) AS `messages`, COALESCE(SUM(`delivered`), 0) AS `delivered`, COALESCE(SUM(`clickers`), 0) AS `clickers`, COALESCE(SUM(`stops`), 0) AS `stops` FROM `sms_periods` GROUP BY campaign, period_start
  UNION ALL
  SELECT campaign, CAST(NULL AS DATE) AS period_start, COALESCE(SUM(`messages`), 0) AS `messages`, COALESCE(SUM(`delivered`), 0) AS `delivered`, COALESCE(SUM(`clickers`), 0) AS `clickers`, COALESCE(SUM(`stops`), 0) AS `stops` FROM `sms_periods` GROUP BY campaign
  UNION ALL
  SELECT CAST(NULL AS STRING) AS campaign, period_start, COALESCE(SUM(`messages`), 0) AS `messages`, COALESCE(SUM(`delivered`), 0) AS `delivered`, COALESCE(SUM(`clickers`), 0) AS `clickers`, COALESCE(SUM(`stops`), 0) AS `stops` FROM `sms_periods` GROUP BY period_start
  UNION ALL
  SELECT CAST(NULL AS STRING) AS campaign, CAST(NULL AS DATE) AS period_start, COALESCE(SUM(`messages`), 0) AS `messages`, COALESCE(SUM(`delivered`), 0) AS `delivered`, COALESCE(SUM(`clickers`), 0) AS `clickers`, COALESCE(SUM(`stops`), 0) AS `stops` FROM `sms_periods` HAVING COUNT(*) > 0
),
`push_messages` AS (
  SELECT CAST(`ev`.`campaign` AS STRING) AS campaign, `ev`.`device` AS customer, MIN(CAST(`ev`.`at` AS DATE)) AS first_day,
    MAX(CASE WHEN `ev`.`event` IN ('sent', 'displayed') THEN 1 ELSE 0 END) AS `messages`,
    MAX(CASE WHEN `ev`.`event` IN ('displayed') THEN 1 ELSE 0 END) AS `displayed`,
    MAX(CASE WHEN `ev`.`event` IN ('opened') THEN 1 ELSE 0 END) AS `reactors`
  FROM `raw`.`push_events` AS `ev`
  WHERE `ev`.`device` IS NOT NULL
    AND `ev`.`campaign` IS NOT NULL
    AND CAST(`ev`.`at` AS DATE) <= DATE '2026-06-30'
  GROUP BY CAST(`ev`.`campaign` AS STRING), `ev`.`device`
),
`push_periods` AS (
  SELECT m.*, DATE_TRUNC(m.first_day, MONTH) AS period_start FROM `push_messages` AS m WHERE m.first_day >= DATE_ADD(DATE_TRUNC(DATE '2026-06-30', MONTH), INTERVAL -2 MONTH)
),
`push_totals` AS (
  SELECT campaign, period_start, COALESCE(SUM(`messages`), 0) AS `messages`, COALESCE(SUM(`displayed`), 0) AS `displayed`, COALESCE(SUM(`reactors`), 0) AS `reactors` FROM `push_periods` GROUP BY campaign, period_start
  UNION ALL
  SELECT campaign, CAST(NULL AS DATE) AS period_start, COALESCE(SUM(`messages`), 0) AS `messages`, COALESCE(SUM(`displayed`), 0) AS `displayed`, COALESCE(SUM(`reactors`), 0) AS `reactors` FROM `push_periods` GROUP BY campaign
  UNION ALL
  SELECT CAST(NULL AS STRING) AS campaign, period_start, COALESCE(SUM(`messages`), 0) AS `messages`, COALESCE(SUM(`displayed`), 0) AS `displayed`, COALESCE(SUM(`reactors`), 0) AS `reactors` FROM `push_periods` GROUP BY period_start
  UNION ALL
  SELECT CAST(NULL AS STRING) AS campaign, CAST(NULL AS DATE) AS period_start, COALESCE(SUM(`messages`), 0) AS `messages`, COALESCE(SUM(`displayed`), 0) AS `displayed`, COALESCE(SUM(`reactors`), 0) AS `reactors` FROM `push_periods` HAVING COUNT(*) > 0
),
`mail_messages` AS (
  SELECT CAST(`ev`.`campaign` AS STRING) AS campaign, `ev`.`card` AS customer, MIN(CAST(`ev`.`at` AS DATE)) AS first_day,
    MAX(CASE WHEN `ev`.`event` IN ('sent', 'returned') THEN 1 ELSE 0 END) AS `messages`,
    MAX(CASE WHEN `ev`.`event` IN ('returned') THEN 1 ELSE 0 END) AS `returned`
  FROM `raw`.`mail_events` AS `ev`
  WHERE `ev`.`card` IS NOT NULL
    AND `ev`.`campaign` IS NOT NULL
    AND CAST(`ev`.`at` AS DATE) <= DATE '2026-06-30'
  GROUP BY CAST(`ev`.`campaign` AS STRING), `ev`.`card`
),
`mail_periods` AS (
  SELECT m.*, DATE_TRUNC(m.first_day, MONTH) AS period_start FROM `mail_messages` AS m WHERE m.first_day >= DATE_ADD(DATE_TRUNC(DATE '2026-06-30', MONTH), INTERVAL -2 MONTH)
),
`mail_totals` AS (
  SELECT campaign, period_start, COALESCE(SUM(`messages`), 0) AS `messages`, COALESCE(SUM(`returned`), 0) AS `returned` FROM `mail_periods` GROUP BY campaign, period_start
  UNION ALL
  SELECT campaign, CAST(NULL AS DATE) AS period_start, COALESCE(SUM(`messages`), 0) AS `messages`, COALESCE(SUM(`returned`), 0) AS `returned` FROM `mail_periods` GROUP BY campaign
  UNION ALL
  SELECT CAST(NULL AS STRING) AS campaign, period_start, COALESCE(SUM(`messages`), 0) AS `messages`, COALESCE(SUM(`returned`), 0) AS `returned` FROM `mail_periods` GROUP BY period_start
  UNION ALL
  SELECT CAST(NULL AS STRING) AS campaign, CAST(NULL AS DATE) AS period_start, COALESCE(SUM(`messages`), 0) AS `messages`, COALESCE(SUM(`returned`), 0) AS `returned` FROM `mail_periods` HAVING COUNT(*) > 0
),
`phone_calls` AS (
  SELECT CAST(`c`.`campaign` AS STRING) AS campaign, DATE_TRUNC(CAST(`c`.`called_at` AS DATE), MONTH) AS period_start, 1 AS calls,
    CASE WHEN (COALESCE(`c`.`outcome` = 'answered', FALSE)) THEN 1 ELSE 0 END AS answered,
    CASE WHEN (COALESCE(`c`.`outcome` = 'answered', FALSE)) THEN CAST(COALESCE(`c`.`seconds`, 0) AS FLOAT64) ELSE 0 END AS talk_seconds
  FROM `raw`.`calls` AS `c`
  WHERE `c`.`called_at` IS NOT NULL
    AND CAST(`c`.`called_at` AS DATE) <= DATE '2026-06-30'
    AND CAST(`c`.`called_at` AS DATE) >= DATE_ADD(DATE_TRUNC(DATE '2026-06-30', MONTH), INTERVAL -2 MONTH)
),
`phone_totals` AS (
  SELECT campaign, period_start, COALESCE(SUM(`calls`), 0) AS `calls`, COALESCE(SUM(`answered`), 0) AS `answered`, COALESCE(SUM(`talk_seconds`), 0) AS `talk_seconds` FROM `phone_calls` GROUP BY campaign, period_start
  UNION ALL
  SELECT campaign, CAST(NULL AS DATE) AS period_start, COALESCE(SUM(`calls`), 0) AS `calls`, COALESCE(SUM(`answered`), 0) AS `answered`, COALESCE(SUM(`talk_seconds`), 0) AS `talk_seconds` FROM `phone_calls` GROUP BY campaign
  UNION ALL
  SELECT CAST(NULL AS STRING) AS campaign, period_start, COALESCE(SUM(`calls`), 0) AS `calls`, COALESCE(SUM(`answered`), 0) AS `answered`, COALESCE(SUM(`talk_seconds`), 0) AS `talk_seconds` FROM `phone_calls` GROUP BY period_start
  UNION ALL
  SELECT CAST(NULL AS STRING) AS campaign, CAST(NULL AS DATE) AS period_start, COALESCE(SUM(`calls`), 0) AS `calls`, COALESCE(SUM(`answered`), 0) AS `answered`, COALESCE(SUM(`talk_seconds`), 0) AS `talk_seconds` FROM `phone_calls` HAVING COUNT(*) > 0
),
`kpi_rows` AS (
  SELECT 'email' AS channel, `t`.campaign, `t`.period_start, 'messages' AS kpi, CAST(`t`.`messages` AS FLOAT64) AS numerator, CAST(NULL AS FLOAT64) AS denominator, CAST(NULL AS FLOAT64) AS good, CAST(NULL AS FLOAT64) AS bad, 'higher' AS better FROM `email_totals` AS `t`
  UNION ALL
  SELECT 'email' AS channel, `t`.campaign, `t`.period_start, 'delivery_rate' AS kpi, CAST(`t`.`delivered` AS FLOAT64) AS numerator, CAST(`t`.`messages` AS FLOAT64) AS denominator, CAST(0.99 AS FLOAT64) AS good, CAST(NULL AS FLOAT64) AS bad, 'higher' AS better FROM `email_totals` AS `t`
  UNION ALL
  SELECT 'email' AS channel, `t`.campaign, `t`.period_start, 'bounce_rate' AS kpi, CAST(`t`.`bounced` AS FLOAT64) AS numerator, CAST(`t`.`messages` AS FLOAT64) AS denominator, CAST(NULL AS FLOAT64) AS good, CAST(NULL AS FLOAT64) AS bad, 'lower' AS better FROM `email_totals` AS `t`
  UNION ALL
  SELECT 'email' AS channel, `t`.campaign, `t`.period_start, 'open_rate' AS kpi, CAST(`t`.`openers` AS FLOAT64) AS numerator, CAST(`t`.`delivered` AS FLOAT64) AS denominator, CAST(0.5 AS FLOAT64) AS good, CAST(0.2 AS FLOAT64) AS bad, 'higher' AS better FROM `email_totals` AS `t`
  UNION ALL
  SELECT 'email' AS channel, `t`.campaign, `t`.period_start, 'open_rate_human' AS kpi, CAST(`t`.`human_openers` AS FLOAT64) AS numerator, CAST(`t`.`delivered` AS FLOAT64) AS denominator, CAST(NULL AS FLOAT64) AS good, CAST(NULL AS FLOAT64) AS bad, 'higher' AS better FROM `email_totals` AS `t`
  UNION ALL
  SELECT 'email' AS channel, `t`.campaign, `t`.period_start, 'click_rate' AS kpi, CAST(`t`.`clickers` AS FLOAT64) AS numerator, CAST(`t`.`delivered` AS FLOAT64) AS denominator, CAST(0.4 AS FLOAT64) AS good, CAST(0.3 AS FLOAT64) AS bad, 'higher' AS better FROM `email_totals` AS `t`
  UNION ALL
  SELECT 'email' AS channel, `t`.campaign, `t`.period_start, 'click_to_open' AS kpi, CAST(`t`.`clickers` AS FLOAT64) AS numerator, CAST(`t`.`openers` AS FLOAT64) AS denominator, CAST(NULL AS FLOAT64) AS good, CAST(NULL AS FLOAT64) AS bad, 'higher' AS better FROM `email_totals` AS `t`
  UNION ALL
  SELECT 'email' AS channel, `t`.campaign, `t`.period_start, 'click_to_open_human' AS kpi, CAST(`t`.`clickers` AS FLOAT64) AS numerator, CAST(`t`.`human_openers` AS FLOAT64) AS denominator, CAST(NULL AS FLOAT64) AS good, CAST(NULL AS FLOAT64) AS bad, 'higher' AS better FROM `email_totals` AS `t`
  UNION ALL
  SELECT 'email' AS channel, `t`.campaign, `t`.period_start, 'unsubscribe_rate' AS kpi, CAST(`t`.`unsubscribers` AS FLOAT64) AS numerator, CAST(`t`.`delivered` AS FLOAT64) AS denominator, CAST(0.001 AS FLOAT64) AS good, CAST(0.002 AS FLOAT64) AS bad, 'lower' AS better FROM `email_totals` AS `t`
  UNION ALL
  SELECT 'email' AS channel, `t`.campaign, `t`.period_start, 'fatigue' AS kpi, CAST(`t`.`unsubscribe_clickers` AS FLOAT64) AS numerator, CAST(`t`.`all_clickers` AS FLOAT64) AS denominator, CAST(NULL AS FLOAT64) AS good, CAST(0.2 AS FLOAT64) AS bad, 'lower' AS better FROM `email_totals` AS `t`
  UNION ALL
  SELECT 'sms' AS channel, `t`.campaign, `t`.period_start, 'messages' AS kpi, CAST(`t`.`messages` AS FLOAT64) AS numerator, CAST(NULL AS FLOAT64) AS denominator, CAST(NULL AS FLOAT64) AS good, CAST(NULL AS FLOAT64) AS bad, 'higher' AS better FROM `sms_totals` AS `t`
  UNION ALL
  SELECT 'sms' AS channel, `t`.campaign, `t`.period_start, 'delivery_rate' AS kpi, CAST(`t`.`delivered` AS FLOAT64) AS numerator, CAST(`t`.`messages` AS FLOAT64) AS denominator, CAST(NULL AS FLOAT64) AS good, CAST(NULL AS FLOAT64) AS bad, 'higher' AS better FROM `sms_totals` AS `t`
  UNION ALL
  SELECT 'sms' AS channel, `t`.campaign, `t`.period_start, 'click_rate' AS kpi, CAST(`t`.`clickers` AS FLOAT64) AS numerator, CAST(`t`.`delivered` AS FLOAT64) AS denominator, CAST(NULL AS FLOAT64) AS good, CAST(NULL AS FLOAT64) AS bad, 'higher' AS better FROM `sms_totals` AS `t`
  UNION ALL
  SELECT 'sms' AS channel, `t`.campaign, `t`.period_start, 'stop_rate' AS kpi, CAST(`t`.`stops` AS FLOAT64) AS numerator, CAST(`t`.`delivered` AS FLOAT64) AS denominator, CAST(NULL AS FLOAT64) AS good, CAST(NULL AS FLOAT64) AS bad, 'lower' AS better FROM `sms_totals` AS `t`
  UNION ALL
  SELECT 'push' AS channel, `t`.campaign, `t`.period_start, 'messages' AS kpi, CAST(`t`.`messages` AS FLOAT64) AS numerator, CAST(NULL AS FLOAT64) AS denominator, CAST(NULL AS FLOAT64) AS good, CAST(NULL AS FLOAT64) AS bad, 'higher' AS better FROM `push_totals` AS `t`
  UNION ALL
  SELECT 'push' AS channel, `t`.campaign, `t`.period_start, 'display_rate' AS kpi, CAST(`t`.`displayed` AS FLOAT64) AS numerator, CAST(`t`.`messages` AS FLOAT64) AS denominator, CAST(NULL AS FLOAT64) AS good, CAST(NULL AS FLOAT64) AS bad, 'higher' AS better FROM `push_totals` AS `t`
  UNION ALL
  SELECT 'push' AS channel, `t`.campaign, `t`.period_start, 'reaction_rate' AS kpi, CAST(`t`.`reactors` AS FLOAT64) AS numerator, CAST(`t`.`displayed` AS FLOAT64) AS denominator, CAST(NULL AS FLOAT64) AS good, CAST(NULL AS FLOAT64) AS bad, 'higher' AS better FROM `push_totals` AS `t`
  UNION ALL
  SELECT 'mail' AS channel, `t`.campaign, `t`.period_start, 'messages' AS kpi, CAST(`t`.`messages` AS FLOAT64) AS numerator, CAST(NULL AS FLOAT64) AS denominator, CAST(NULL AS FLOAT64) AS good, CAST(NULL AS FLOAT64) AS bad, 'higher' AS better FROM `mail_totals` AS `t`
  UNION ALL
  SELECT 'mail' AS channel, `t`.campaign, `t`.period_start, 'return_rate' AS kpi, CAST(`t`.`returned` AS FLOAT64) AS numerator, CAST(`t`.`messages` AS FLOAT64) AS denominator, CAST(NULL AS FLOAT64) AS good, CAST(NULL AS FLOAT64) AS bad, 'lower' AS better FROM `mail_totals` AS `t`
  UNION ALL
  SELECT 'phone' AS channel, `t`.campaign, `t`.period_start, 'calls' AS kpi, CAST(`t`.`calls` AS FLOAT64) AS numerator, CAST(NULL AS FLOAT64) AS denominator, CAST(NULL AS FLOAT64) AS good, CAST(NULL AS FLOAT64) AS bad, 'higher' AS better FROM `phone_totals` AS `t`
  UNION ALL
  SELECT 'phone' AS channel, `t`.campaign, `t`.period_start, 'answer_rate' AS kpi, CAST(`t`.`answered` AS FLOAT64) AS numerator, CAST(`t`.`calls` AS FLOAT64) AS denominator, CAST(NULL AS FLOAT64) AS good, CAST(NULL AS FLOAT64) AS bad, 'higher' AS better FROM `phone_totals` AS `t`
  UNION ALL
  SELECT 'phone' AS channel, `t`.campaign, `t`.period_start, 'average_call_seconds' AS kpi, CAST(`t`.`talk_seconds` AS FLOAT64) AS numerator, CAST(`t`.`answered` AS FLOAT64) AS denominator, CAST(60 AS FLOAT64) AS good, CAST(NULL AS FLOAT64) AS bad, 'higher' AS better FROM `phone_totals` AS `t`
),
`kpi_values` AS (
  SELECT k.*, CASE WHEN k.denominator IS NULL THEN k.numerator ELSE k.numerator / NULLIF(k.denominator, 0) END AS value FROM `kpi_rows` AS k
)
SELECT v.channel, v.campaign, v.period_start, v.kpi, v.numerator, v.denominator, v.value, v.good, v.bad, v.better,
  CASE WHEN v.value IS NULL OR COALESCE(v.good, v.bad) IS NULL THEN NULL
    WHEN v.better = 'higher' THEN CASE WHEN v.value > COALESCE(v.good, v.bad) THEN 'good' WHEN v.value < COALESCE(v.bad, v.good) THEN 'bad' ELSE 'fair' END
    ELSE CASE WHEN v.value < COALESCE(v.good, v.bad) THEN 'good' WHEN v.value > COALESCE(v.bad, v.good) THEN 'bad' ELSE 'fair' END END AS status
FROM `kpi_values` AS v;

-- program KPIs
CREATE TABLE `analytics__tl_work`.`shop_report__tl_programs` AS
WITH `entries` AS (
  SELECT x.audience, x.k, x.grp, x.entered_at FROM (
    SELECT CAST(`m`.`campaign` AS STRING) AS audience, CAST(`m`.`customer_id` AS STRING) AS k, CAST(`m`.`grp` AS STRING) AS grp, CAST(`m`.`assigned_at` AS TIMESTAMP) AS entered_at,
      ROW_NUMBER() OVER (PARTITION BY `m`.`campaign`, `m`.`customer_id` ORDER BY `m`.`assigned_at`, `m`.`grp`) AS rn
    FROM `raw`.`assignments` AS `m`
    WHERE `m`.`campaign` IS NOT NULL
      AND `m`.`customer_id` IS NOT NULL
      AND `m`.`grp` IS NOT NULL
      AND `m`.`assigned_at` IS NOT NULL
      AND CAST(`m`.`assigned_at` AS DATE) <= DATE '2026-06-30'
  ) AS x
  WHERE x.rn = 1
),
`first_orders` AS (
  SELECT k, MIN(ordered_at) AS first_at FROM `analytics__tl_work`.`shop_report__tl_orders` GROUP BY k
),
`program_0` AS (
  SELECT f.k, f.first_at AS since, MAX(CASE WHEN o.k IS NULL THEN 0 ELSE 1 END) AS converted
  FROM `first_orders` AS f
  LEFT JOIN `analytics__tl_work`.`shop_report__tl_orders` AS o ON o.k = f.k AND o.ordered_at > f.first_at AND o.ordered_at <= TIMESTAMP(DATETIME_ADD(DATETIME(f.first_at), INTERVAL 45 DAY))
  WHERE CAST(f.first_at AS DATE) >= DATE_ADD(DATE_TRUNC(DATE '2026-06-30', MONTH), INTERVAL -2 MONTH) AND TIMESTAMP(DATETIME_ADD(DATETIME(f.first_at), INTERVAL 45 DAY)) <= CAST(DATE '2026-06-30' AS TIMESTAMP)
  GROUP BY f.k, f.first_at
),
`program_1` AS (
  SELECT e.k, e.entered_at AS since, MAX(CASE WHEN o.k IS NULL THEN 0 ELSE 1 END) AS converted
  FROM `entries` AS e
  LEFT JOIN `analytics__tl_work`.`shop_report__tl_orders` AS o ON o.k = e.k AND o.ordered_at > e.entered_at AND o.ordered_at <= TIMESTAMP(DATETIME_ADD(DATETIME(e.entered_at), INTERVAL 7 DAY))
  WHERE e.audience IN ('newcombe') AND e.grp <> 'control'
    AND CAST(e.entered_at AS DATE) >= DATE_ADD(DATE_TRUNC(DATE '2026-06-30', MONTH), INTERVAL -2 MONTH) AND TIMESTAMP(DATETIME_ADD(DATETIME(e.entered_at), INTERVAL 7 DAY)) <= CAST(DATE '2026-06-30' AS TIMESTAMP)
  GROUP BY e.audience, e.k, e.entered_at
),
`program_list` AS (
  SELECT 'activation' AS program, 'first-time buyers who ordered again within 45 days' AS kpi, 'repeat_within' AS measure, '45 days' AS within_length, 'newcombe' AS audiences, 'crm_activation' AS syncs, CAST(NULL AS FLOAT64) AS good, CAST(NULL AS FLOAT64) AS bad
  UNION ALL
  SELECT 'cart_recovery' AS program, 'carts recovered within 7 days' AS kpi, 'converted_within' AS measure, '7 days' AS within_length, 'newcombe' AS audiences, '' AS syncs, CAST(0.8 AS FLOAT64) AS good, CAST(0.5 AS FLOAT64) AS bad
),
`program_subjects` AS (
  SELECT 'activation' AS program, DATE_TRUNC(CAST(s.since AS DATE), MONTH) AS period_start, s.converted FROM `program_0` AS s
  UNION ALL
  SELECT 'cart_recovery' AS program, DATE_TRUNC(CAST(s.since AS DATE), MONTH) AS period_start, s.converted FROM `program_1` AS s
),
`program_counts` AS (
  SELECT program, period_start, COUNT(*) AS base, SUM(converted) AS converted FROM `program_subjects` GROUP BY program, period_start
  UNION ALL
  SELECT program, CAST(NULL AS DATE) AS period_start, COUNT(*) AS base, SUM(converted) AS converted FROM `program_subjects` GROUP BY program
),
`program_values` AS (
  SELECT l.program, l.kpi, l.measure, l.within_length, l.audiences, l.syncs, c.period_start,
    CAST(COALESCE(c.base, 0) AS INT64) AS base, CAST(COALESCE(c.converted, 0) AS INT64) AS converted,
    CAST(c.converted AS FLOAT64) / NULLIF(CAST(c.base AS FLOAT64), 0) AS value, l.good, l.bad
  FROM `program_list` AS l
  LEFT JOIN `program_counts` AS c ON c.program = l.program
)
SELECT v.program, v.kpi, v.measure, v.within_length, v.audiences, v.syncs, v.period_start, v.base, v.converted, CAST(v.value AS FLOAT64) AS value, v.good, v.bad,
  CASE WHEN v.value IS NULL OR COALESCE(v.good, v.bad) IS NULL THEN NULL ELSE CASE WHEN v.value > COALESCE(v.good, v.bad) THEN 'good' WHEN v.value < COALESCE(v.bad, v.good) THEN 'bad' ELSE 'fair' END END AS status
FROM `program_values` AS v;

-- holdout uplift
CREATE TABLE `analytics__tl_work`.`shop_report__tl_uplift` AS
WITH `entries` AS (
  SELECT x.audience, x.k, x.grp, x.entered_at FROM (
    SELECT CAST(`m`.`campaign` AS STRING) AS audience, CAST(`m`.`customer_id` AS STRING) AS k, CAST(`m`.`grp` AS STRING) AS grp, CAST(`m`.`assigned_at` AS TIMESTAMP) AS entered_at,
      ROW_NUMBER() OVER (PARTITION BY `m`.`campaign`, `m`.`customer_id` ORDER BY `m`.`assigned_at`, `m`.`grp`) AS rn
    FROM `raw`.`assignments` AS `m`
    WHERE `m`.`campaign` IS NOT NULL
      AND `m`.`customer_id` IS NOT NULL
      AND `m`.`grp` IS NOT NULL
      AND `m`.`assigned_at` IS NOT NULL
      AND CAST(`m`.`assigned_at` AS DATE) <= DATE '2026-06-30'
  ) AS x
  WHERE x.rn = 1
),
`measured` AS (
  SELECT e.*, CASE WHEN TIMESTAMP(DATETIME_ADD(DATETIME(e.entered_at), INTERVAL 30 DAY)) <= CAST(DATE '2026-06-30' AS TIMESTAMP) THEN 1 ELSE 0 END AS complete
  FROM `entries` AS e
  WHERE e.audience IN (SELECT h.audience FROM `entries` AS h WHERE h.grp = 'control')
),
`outcomes` AS (
  SELECT e.audience, e.grp, e.k, e.entered_at, COUNT(o.k) AS orders, COALESCE(SUM(o.revenue), 0) AS revenue
  FROM `measured` AS e
  LEFT JOIN `analytics__tl_work`.`shop_report__tl_orders` AS o ON o.k = e.k AND o.ordered_at > e.entered_at AND o.ordered_at <= TIMESTAMP(DATETIME_ADD(DATETIME(e.entered_at), INTERVAL 30 DAY))
  WHERE e.complete = 1
  GROUP BY e.audience, e.grp, e.k, e.entered_at
),
`groups` AS (
  SELECT audience, grp, CAST(COUNT(*) AS FLOAT64) AS n, CAST(SUM(CASE WHEN orders > 0 THEN 1 ELSE 0 END) AS FLOAT64) AS converters,
    SUM(revenue) AS revenue, SUM(revenue * revenue) AS revenue_sq, MIN(entered_at) AS first_entry, MAX(entered_at) AS last_entry
  FROM `outcomes`
  GROUP BY audience, grp
),
`pending` AS (
  SELECT audience, COUNT(*) AS pending FROM `measured` WHERE complete = 0 GROUP BY audience
),
`pairs` AS (
  SELECT DISTINCT audience, grp AS treated_group FROM `measured` WHERE grp <> 'control'
),
`stats` AS (
  SELECT t.audience, t.grp AS treated_group,
    CASE WHEN t.first_entry < h.first_entry THEN t.first_entry ELSE h.first_entry END AS first_entry,
    CASE WHEN t.last_entry > h.last_entry THEN t.last_entry ELSE h.last_entry END AS last_entry,
    t.n AS n1, h.n AS n0, t.converters AS x1, h.converters AS x0,
    t.converters / t.n AS p1, h.converters / h.n AS p0,
    t.revenue / t.n AS m1, h.revenue / h.n AS m0,
    CASE WHEN t.n > 1 THEN CASE WHEN t.revenue_sq - t.revenue * t.revenue / t.n > 0 THEN (t.revenue_sq - t.revenue * t.revenue / t.n) / (t.n - 1) ELSE 0 END END AS v1, CASE WHEN h.n > 1 THEN CASE WHEN h.revenue_sq - h.revenue * h.revenue / h.n > 0 THEN (h.revenue_sq - h.revenue * h.revenue / h.n) / (h.n - 1) ELSE 0 END END AS v0
  FROM `groups` AS t
  JOIN `groups` AS h ON h.audience = t.audience AND h.grp = 'control'
  WHERE t.grp <> 'control'
),
`wilson` AS (
  SELECT s.*,
    (s.p1 + 3.8414588206941254 / (2 * s.n1)) / (1 + 3.8414588206941254 / s.n1) - 1.959963984540054 / (1 + 3.8414588206941254 / s.n1) * SQRT(s.p1 * (1 - s.p1) / s.n1 + 3.8414588206941254 / (4 * s.n1 * s.n1)) AS l1,
    (s.p1 + 3.8414588206941254 / (2 * s.n1)) / (1 + 3.8414588206941254 / s.n1) + 1.959963984540054 / (1 + 3.8414588206941254 / s.n1) * SQRT(s.p1 * (1 - s.p1) / s.n1 + 3.8414588206941254 / (4 * s.n1 * s.n1)) AS u1,
    (s.p0 + 3.8414588206941254 / (2 * s.n0)) / (1 + 3.8414588206941254 / s.n0) - 1.959963984540054 / (1 + 3.8414588206941254 / s.n0) * SQRT(s.p0 * (1 - s.p0) / s.n0 + 3.8414588206941254 / (4 * s.n0 * s.n0)) AS l0,
    (s.p0 + 3.8414588206941254 / (2 * s.n0)) / (1 + 3.8414588206941254 / s.n0) + 1.959963984540054 / (1 + 3.8414588206941254 / s.n0) * SQRT(s.p0 * (1 - s.p0) / s.n0 + 3.8414588206941254 / (4 * s.n0 * s.n0)) AS u0,
    s.v1 / s.n1 + s.v0 / s.n0 AS se2,
    CASE WHEN s.v1 / s.n1 + s.v0 / s.n0 > 0
      THEN (s.v1 / s.n1 + s.v0 / s.n0) * (s.v1 / s.n1 + s.v0 / s.n0) / ((s.v1 / s.n1) * (s.v1 / s.n1) / (s.n1 - 1) + (s.v0 / s.n0) * (s.v0 / s.n0) / (s.n0 - 1)) END AS df
  FROM `stats` AS s
),
`intervals` AS (
  SELECT w.*,
    w.p1 - w.p0 - SQRT((w.p1 - w.l1) * (w.p1 - w.l1) + (w.u0 - w.p0) * (w.u0 - w.p0)) AS conversion_uplift_low,
    w.p1 - w.p0 + SQRT((w.u1 - w.p1) * (w.u1 - w.p1) + (w.p0 - w.l0) * (w.p0 - w.l0)) AS conversion_uplift_high,
    CASE WHEN w.x1 > 0 AND w.x0 > 0 THEN LN(w.p1 / w.p0) END AS log_rr,
    CASE WHEN w.x1 > 0 AND w.x0 > 0 THEN SQRT(1 / w.x1 - 1 / w.n1 + 1 / w.x0 - 1 / w.n0) END AS log_rr_se,
    w.m1 - w.m0 - CASE WHEN w.df IS NULL THEN 1.959963984540054 ELSE 1.959963984540054 + 2.372271230298562 / w.df + 2.8224986157396112 / (w.df * w.df) + 2.555849679507722 / (w.df * w.df * w.df) + 1.5895340533938225 / (w.df * w.df * w.df * w.df) END * SQRT(w.se2) AS revenue_uplift_low,
    w.m1 - w.m0 + CASE WHEN w.df IS NULL THEN 1.959963984540054 ELSE 1.959963984540054 + 2.372271230298562 / w.df + 2.8224986157396112 / (w.df * w.df) + 2.555849679507722 / (w.df * w.df * w.df) + 1.5895340533938225 / (w.df * w.df * w.df * w.df) END * SQRT(w.se2) AS revenue_uplift_high,
    CASE WHEN w.m1 > 0 AND w.m0 > 0 THEN LN(w.m1 / w.m0) END AS log_ratio,
    CASE WHEN w.m1 > 0 AND w.m0 > 0 THEN SQRT(w.v1 / (w.n1 * w.m1 * w.m1) + w.v0 / (w.n0 * w.m0 * w.m0)) END AS log_ratio_se
  FROM `wilson` AS w
)
SELECT g.audience, g.treated_group, '30 days' AS window_length, i.first_entry, i.last_entry,
  CAST(COALESCE(i.n1, 0) AS INT64) AS treated, CAST(COALESCE(i.n0, 0) AS INT64) AS holdout, CAST(COALESCE(p.pending, 0) AS INT64) AS pending,
  CAST(COALESCE(i.x1, 0) AS INT64) AS treated_converters, CAST(COALESCE(i.x0, 0) AS INT64) AS holdout_converters,
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
FROM `pairs` AS g
LEFT JOIN `intervals` AS i ON i.audience = g.audience AND i.treated_group = g.treated_group
LEFT JOIN `pending` AS p ON p.audience = g.audience;

-- cohorts by month of first purchase
CREATE TABLE `analytics__tl_work`.`shop_report__tl_cohorts` AS
WITH `first_purchases` AS (
  SELECT k, MIN(order_day) AS first_day FROM `analytics__tl_work`.`shop_report__tl_orders` GROUP BY k
),
`cohort_members` AS (
  SELECT k, first_day, DATE_TRUNC(first_day, MONTH) AS cohort_month FROM `first_purchases` WHERE first_day >= DATE_ADD(DATE_TRUNC(DATE '2026-06-30', MONTH), INTERVAL -11 MONTH) AND first_day <= DATE '2026-06-30'
),
`cohort_customers` AS (
  SELECT c.cohort_month, c.k,
    SUM(CASE WHEN o.order_day = c.first_day THEN o.revenue ELSE 0 END) AS revenue_0,
    SUM(CASE WHEN o.order_day <= DATE_ADD(c.first_day, INTERVAL 1 MONTH) THEN o.revenue ELSE 0 END) AS `revenue_1`,
    MAX(CASE WHEN o.order_day > c.first_day AND o.order_day <= DATE_ADD(c.first_day, INTERVAL 1 MONTH) THEN 1 ELSE 0 END) AS `repeat_1`,
    SUM(CASE WHEN o.order_day <= DATE_ADD(c.first_day, INTERVAL 2 MONTH) THEN o.revenue ELSE 0 END) AS `revenue_2`,
    MAX(CASE WHEN o.order_day > c.first_day AND o.order_day <= DATE_ADD(c.first_day, INTERVAL 2 MONTH) THEN 1 ELSE 0 END) AS `repeat_2`,
    SUM(CASE WHEN o.order_day <= DATE_ADD(c.first_day, INTERVAL 3 MONTH) THEN o.revenue ELSE 0 END) AS `revenue_3`,
    MAX(CASE WHEN o.order_day > c.first_day AND o.order_day <= DATE_ADD(c.first_day, INTERVAL 3 MONTH) THEN 1 ELSE 0 END) AS `repeat_3`,
    SUM(CASE WHEN o.order_day <= DATE_ADD(c.first_day, INTERVAL 6 MONTH) THEN o.revenue ELSE 0 END) AS `revenue_6`,
    MAX(CASE WHEN o.order_day > c.first_day AND o.order_day <= DATE_ADD(c.first_day, INTERVAL 6 MONTH) THEN 1 ELSE 0 END) AS `repeat_6`,
    SUM(CASE WHEN o.order_day <= DATE_ADD(c.first_day, INTERVAL 12 MONTH) THEN o.revenue ELSE 0 END) AS `revenue_12`,
    MAX(CASE WHEN o.order_day > c.first_day AND o.order_day <= DATE_ADD(c.first_day, INTERVAL 12 MONTH) THEN 1 ELSE 0 END) AS `repeat_12`
  FROM `cohort_members` AS c
  LEFT JOIN `analytics__tl_work`.`shop_report__tl_orders` AS o ON o.k = c.k AND o.order_day >= c.first_day
  GROUP BY c.cohort_month, c.k
),
`cohort_totals` AS (
  SELECT cohort_month, COUNT(*) AS customers, SUM(revenue_0) AS revenue_0, SUM(`revenue_1`) AS `revenue_1`, SUM(`repeat_1`) AS `repeat_1`, SUM(`revenue_2`) AS `revenue_2`, SUM(`repeat_2`) AS `repeat_2`, SUM(`revenue_3`) AS `revenue_3`, SUM(`repeat_3`) AS `repeat_3`, SUM(`revenue_6`) AS `revenue_6`, SUM(`repeat_6`) AS `repeat_6`, SUM(`revenue_12`) AS `revenue_12`, SUM(`repeat_12`) AS `repeat_12` FROM `cohort_customers` GROUP BY cohort_month
)
SELECT `t`.cohort_month, CAST(`t`.customers AS INT64) AS customers, 1 AS months_after, CASE WHEN DATE_ADD(`t`.cohort_month, INTERVAL 2 MONTH) <= DATE_ADD(DATE '2026-06-30', INTERVAL 1 DAY) THEN TRUE ELSE FALSE END AS complete,
  CASE WHEN DATE_ADD(`t`.cohort_month, INTERVAL 2 MONTH) <= DATE_ADD(DATE '2026-06-30', INTERVAL 1 DAY) THEN CAST(`t`.`repeat_1` AS INT64) END AS repeat_customers,
  CASE WHEN DATE_ADD(`t`.cohort_month, INTERVAL 2 MONTH) <= DATE_ADD(DATE '2026-06-30', INTERVAL 1 DAY) THEN CAST(`t`.`repeat_1` AS FLOAT64) / NULLIF(CAST(`t`.customers AS FLOAT64), 0) END AS repeat_rate,
  CAST(`t`.revenue_0 AS FLOAT64) / NULLIF(CAST(`t`.customers AS FLOAT64), 0) AS first_day_revenue_per_customer,
  CASE WHEN DATE_ADD(`t`.cohort_month, INTERVAL 2 MONTH) <= DATE_ADD(DATE '2026-06-30', INTERVAL 1 DAY) THEN CAST(`t`.`revenue_1` AS FLOAT64) / NULLIF(CAST(`t`.customers AS FLOAT64), 0) END AS revenue_per_customer,
  CASE WHEN DATE_ADD(`t`.cohort_month, INTERVAL 2 MONTH) <= DATE_ADD(DATE '2026-06-30', INTERVAL 1 DAY) THEN 100 * CAST(`t`.`revenue_1` AS FLOAT64) / NULLIF(CAST(`t`.revenue_0 AS FLOAT64), 0) END AS revenue_index
FROM `cohort_totals` AS `t`
UNION ALL
SELECT `t`.cohort_month, CAST(`t`.customers AS INT64) AS customers, 2 AS months_after, CASE WHEN DATE_ADD(`t`.cohort_month, INTERVAL 3 MONTH) <= DATE_ADD(DATE '2026-06-30', INTERVAL 1 DAY) THEN TRUE ELSE FALSE END AS complete,
  CASE WHEN DATE_ADD(`t`.cohort_month, INTERVAL 3 MONTH) <= DATE_ADD(DATE '2026-06-30', INTERVAL 1 DAY) THEN CAST(`t`.`repeat_2` AS INT64) END AS repeat_customers,
  CASE WHEN DATE_ADD(`t`.cohort_month, INTERVAL 3 MONTH) <= DATE_ADD(DATE '2026-06-30', INTERVAL 1 DAY) THEN CAST(`t`.`repeat_2` AS FLOAT64) / NULLIF(CAST(`t`.customers AS FLOAT64), 0) END AS repeat_rate,
  CAST(`t`.revenue_0 AS FLOAT64) / NULLIF(CAST(`t`.customers AS FLOAT64), 0) AS first_day_revenue_per_customer,
  CASE WHEN DATE_ADD(`t`.cohort_month, INTERVAL 3 MONTH) <= DATE_ADD(DATE '2026-06-30', INTERVAL 1 DAY) THEN CAST(`t`.`revenue_2` AS FLOAT64) / NULLIF(CAST(`t`.customers AS FLOAT64), 0) END AS revenue_per_customer,
  CASE WHEN DATE_ADD(`t`.cohort_month, INTERVAL 3 MONTH) <= DATE_ADD(DATE '2026-06-30', INTERVAL 1 DAY) THEN 100 * CAST(`t`.`revenue_2` AS FLOAT64) / NULLIF(CAST(`t`.revenue_0 AS FLOAT64), 0) END AS revenue_index
FROM `cohort_totals` AS `t`
UNION ALL
SELECT `t`.cohort_month, CAST(`t`.customers AS INT64) AS customers, 3 AS months_after, CASE WHEN DATE_ADD(`t`.cohort_month, INTERVAL 4 MONTH) <= DATE_ADD(DATE '2026-06-30', INTERVAL 1 DAY) THEN TRUE ELSE FALSE END AS complete,
  CASE WHEN DATE_ADD(`t`.cohort_month, INTERVAL 4 MONTH) <= DATE_ADD(DATE '2026-06-30', INTERVAL 1 DAY) THEN CAST(`t`.`repeat_3` AS INT64) END AS repeat_customers,
  CASE WHEN DATE_ADD(`t`.cohort_month, INTERVAL 4 MONTH) <= DATE_ADD(DATE '2026-06-30', INTERVAL 1 DAY) THEN CAST(`t`.`repeat_3` AS FLOAT64) / NULLIF(CAST(`t`.customers AS FLOAT64), 0) END AS repeat_rate,
  CAST(`t`.revenue_0 AS FLOAT64) / NULLIF(CAST(`t`.customers AS FLOAT64), 0) AS first_day_revenue_per_customer,
  CASE WHEN DATE_ADD(`t`.cohort_month, INTERVAL 4 MONTH) <= DATE_ADD(DATE '2026-06-30', INTERVAL 1 DAY) THEN CAST(`t`.`revenue_3` AS FLOAT64) / NULLIF(CAST(`t`.customers AS FLOAT64), 0) END AS revenue_per_customer,
  CASE WHEN DATE_ADD(`t`.cohort_month, INTERVAL 4 MONTH) <= DATE_ADD(DATE '2026-06-30', INTERVAL 1 DAY) THEN 100 * CAST(`t`.`revenue_3` AS FLOAT64) / NULLIF(CAST(`t`.revenue_0 AS FLOAT64), 0) END AS revenue_index
FROM `cohort_totals` AS `t`
UNION ALL
SELECT `t`.cohort_month, CAST(`t`.customers AS INT64) AS customers, 6 AS months_after, CASE WHEN DATE_ADD(`t`.cohort_month, INTERVAL 7 MONTH) <= DATE_ADD(DATE '2026-06-30', INTERVAL 1 DAY) THEN TRUE ELSE FALSE END AS complete,
  CASE WHEN DATE_ADD(`t`.cohort_month, INTERVAL 7 MONTH) <= DATE_ADD(DATE '2026-06-30', INTERVAL 1 DAY) THEN CAST(`t`.`repeat_6` AS INT64) END AS repeat_customers,
  CASE WHEN DATE_ADD(`t`.cohort_month, INTERVAL 7 MONTH) <= DATE_ADD(DATE '2026-06-30', INTERVAL 1 DAY) THEN CAST(`t`.`repeat_6` AS FLOAT64) / NULLIF(CAST(`t`.customers AS FLOAT64), 0) END AS repeat_rate,
  CAST(`t`.revenue_0 AS FLOAT64) / NULLIF(CAST(`t`.customers AS FLOAT64), 0) AS first_day_revenue_per_customer,
  CASE WHEN DATE_ADD(`t`.cohort_month, INTERVAL 7 MONTH) <= DATE_ADD(DATE '2026-06-30', INTERVAL 1 DAY) THEN CAST(`t`.`revenue_6` AS FLOAT64) / NULLIF(CAST(`t`.customers AS FLOAT64), 0) END AS revenue_per_customer,
  CASE WHEN DATE_ADD(`t`.cohort_month, INTERVAL 7 MONTH) <= DATE_ADD(DATE '2026-06-30', INTERVAL 1 DAY) THEN 100 * CAST(`t`.`revenue_6` AS FLOAT64) / NULLIF(CAST(`t`.revenue_0 AS FLOAT64), 0) END AS revenue_index
FROM `cohort_totals` AS `t`
UNION ALL
SELECT `t`.cohort_month, CAST(`t`.customers AS INT64) AS customers, 12 AS months_after, CASE WHEN DATE_ADD(`t`.cohort_month, INTERVAL 13 MONTH) <= DATE_ADD(DATE '2026-06-30', INTERVAL 1 DAY) THEN TRUE ELSE FALSE END AS complete,
  CASE WHEN DATE_ADD(`t`.cohort_month, INTERVAL 13 MONTH) <= DATE_ADD(DATE '2026-06-30', INTERVAL 1 DAY) THEN CAST(`t`.`repeat_12` AS INT64) END AS repeat_customers,
  CASE WHEN DATE_ADD(`t`.cohort_month, INTERVAL 13 MONTH) <= DATE_ADD(DATE '2026-06-30', INTERVAL 1 DAY) THEN CAST(`t`.`repeat_12` AS FLOAT64) / NULLIF(CAST(`t`.customers AS FLOAT64), 0) END AS repeat_rate,
  CAST(`t`.revenue_0 AS FLOAT64) / NULLIF(CAST(`t`.customers AS FLOAT64), 0) AS first_day_revenue_per_customer,
  CASE WHEN DATE_ADD(`t`.cohort_month, INTERVAL 13 MONTH) <= DATE_ADD(DATE '2026-06-30', INTERVAL 1 DAY) THEN CAST(`t`.`revenue_12` AS FLOAT64) / NULLIF(CAST(`t`.customers AS FLOAT64), 0) END AS revenue_per_customer,
  CASE WHEN DATE_ADD(`t`.cohort_month, INTERVAL 13 MONTH) <= DATE_ADD(DATE '2026-06-30', INTERVAL 1 DAY) THEN 100 * CAST(`t`.`revenue_12` AS FLOAT64) / NULLIF(CAST(`t`.revenue_0 AS FLOAT64), 0) END AS revenue_index
FROM `cohort_totals` AS `t`;

-- revenue per segment
CREATE TABLE `analytics__tl_work`.`shop_report__tl_segments` AS
WITH `snapshots` AS (
  SELECT CAST(`r`.`snapshot_date` AS DATE) AS snapshot_date, CAST(`r`.`customer_id` AS STRING) AS k, CAST(`r`.`segment` AS STRING) AS segment
  FROM `raw`.`rfm_snapshots` AS `r`
  WHERE `r`.`customer_id` IS NOT NULL AND `r`.`snapshot_date` IS NOT NULL AND CAST(`r`.`snapshot_date` AS DATE) <= DATE '2026-06-30'
),
`latest` AS (
  SELECT MAX(snapshot_date) AS snapshot_date FROM `snapshots`
),
`segment_members` AS (
  SELECT s.snapshot_date, s.k, s.segment FROM `snapshots` AS s JOIN `latest` AS l ON l.snapshot_date = s.snapshot_date
),
`customer_revenue` AS (
  SELECT k, COUNT(*) AS orders, SUM(revenue) AS revenue FROM `analytics__tl_work`.`shop_report__tl_orders`
  WHERE order_day > DATE_ADD(DATE '2026-06-30', INTERVAL -12 MONTH)
  GROUP BY k
)
SELECT m.snapshot_date, m.segment, CAST(COUNT(*) AS INT64) AS customers, CAST(COUNT(*) AS FLOAT64) / NULLIF(CAST(SUM(COUNT(*)) OVER () AS FLOAT64), 0) AS customer_share,
  CAST(SUM(COALESCE(r.orders, 0)) AS INT64) AS orders, SUM(COALESCE(r.revenue, 0)) AS revenue, CAST(SUM(COALESCE(r.revenue, 0)) AS FLOAT64) / NULLIF(CAST(SUM(SUM(COALESCE(r.revenue, 0))) OVER () AS FLOAT64), 0) AS revenue_share, CAST(SUM(COALESCE(r.revenue, 0)) AS FLOAT64) / NULLIF(CAST(COUNT(*) AS FLOAT64), 0) AS revenue_per_customer
FROM `segment_members` AS m
LEFT JOIN `customer_revenue` AS r ON r.k = m.k
GROUP BY m.snapshot_date, m.segment;

-- segment migration
CREATE TABLE `analytics__tl_work`.`shop_report__tl_migration` AS
WITH `snapshots` AS (
  SELECT CAST(`r`.`snapshot_date` AS DATE) AS snapshot_date, CAST(`r`.`customer_id` AS STRING) AS k, CAST(`r`.`segment` AS STRING) AS segment
  FROM `raw`.`rfm_snapshots` AS `r`
  WHERE `r`.`customer_id` IS NOT NULL AND `r`.`snapshot_date` IS NOT NULL AND CAST(`r`.`snapshot_date` AS DATE) <= DATE '2026-06-30'
),
`bounds` AS (
  SELECT MAX(p.snapshot_date) AS from_date, l.to_date
  FROM (SELECT MAX(snapshot_date) AS to_date FROM `snapshots`) AS l
  LEFT JOIN `snapshots` AS p ON p.snapshot_date < DATE_TRUNC(l.to_date, MONTH)
  GROUP BY l.to_date
),
`moves_from` AS (
  SELECT s.k, s.segment FROM `snapshots` AS s JOIN `bounds` AS x ON s.snapshot_date = x.from_date
),
`moves_to` AS (
  SELECT s.k, s.segment FROM `snapshots` AS s JOIN `bounds` AS x ON s.snapshot_date = x.to_date
),
`moves` AS (
  SELECT f.segment AS from_segment, t.segment AS to_segment FROM `moves_from` AS f FULL OUTER JOIN `moves_to` AS t ON t.k = f.k
)
SELECT x.from_date, x.to_date, m.from_segment, m.to_segment, CAST(COUNT(*) AS INT64) AS customers,
  CAST(COUNT(*) AS FLOAT64) / NULLIF(CAST(SUM(COUNT(*)) OVER (PARTITION BY m.from_segment) AS FLOAT64), 0) AS share
FROM `moves` AS m
CROSS JOIN `bounds` AS x
WHERE x.from_date IS NOT NULL AND x.to_date IS NOT NULL
GROUP BY x.from_date, x.to_date, m.from_segment, m.to_segment;

-- scorecard
CREATE TABLE `analytics__tl_work`.`shop_report__tl_build` AS
SELECT 'channel' AS section, k.channel AS subject, k.kpi, k.value, CAST(NULL AS FLOAT64) AS low, CAST(NULL AS FLOAT64) AS high, k.status,
  CASE WHEN k.status = 'bad' THEN TRUE ELSE FALSE END AS flagged, DATE '2026-06-30' AS as_of
FROM `analytics__tl_work`.`shop_report__tl_kpis` AS k
WHERE k.campaign IS NULL AND k.period_start IS NULL
UNION ALL
SELECT 'program' AS section, p.program AS subject, p.kpi, p.value, CAST(NULL AS FLOAT64) AS low, CAST(NULL AS FLOAT64) AS high, p.status,
  CASE WHEN p.status = 'bad' THEN TRUE ELSE FALSE END AS flagged, DATE '2026-06-30' AS as_of
FROM `analytics__tl_work`.`shop_report__tl_programs` AS p
WHERE p.period_start IS NULL
UNION ALL
SELECT 'uplift' AS section, u.audience || ' / ' || u.treated_group AS subject, 'conversion_uplift' AS kpi,
  u.conversion_uplift AS value, u.conversion_uplift_low AS low, u.conversion_uplift_high AS high,
  CASE WHEN u.too_small THEN 'too_small' WHEN u.conversion_significant THEN 'significant' ELSE 'not_significant' END AS status, CASE WHEN u.too_small THEN TRUE ELSE FALSE END AS flagged, DATE '2026-06-30' AS as_of
FROM `analytics__tl_work`.`shop_report__tl_uplift` AS u
UNION ALL
SELECT 'uplift' AS section, u.audience || ' / ' || u.treated_group AS subject, 'revenue_uplift' AS kpi,
  u.revenue_uplift AS value, u.revenue_uplift_low AS low, u.revenue_uplift_high AS high,
  CASE WHEN u.too_small THEN 'too_small' WHEN u.revenue_significant THEN 'significant' ELSE 'not_significant' END AS status, CASE WHEN u.too_small THEN TRUE ELSE FALSE END AS flagged, DATE '2026-06-30' AS as_of
FROM `analytics__tl_work`.`shop_report__tl_uplift` AS u;

-- swap in
CREATE OR REPLACE TABLE `analytics`.`shop_report_kpis` COPY `analytics__tl_work`.`shop_report__tl_kpis`;
DROP TABLE IF EXISTS `analytics__tl_work`.`shop_report__tl_kpis`;
CREATE OR REPLACE TABLE `analytics`.`shop_report_programs` COPY `analytics__tl_work`.`shop_report__tl_programs`;
DROP TABLE IF EXISTS `analytics__tl_work`.`shop_report__tl_programs`;
CREATE OR REPLACE TABLE `analytics`.`shop_report_uplift` COPY `analytics__tl_work`.`shop_report__tl_uplift`;
DROP TABLE IF EXISTS `analytics__tl_work`.`shop_report__tl_uplift`;
CREATE OR REPLACE TABLE `analytics`.`shop_report_cohorts` COPY `analytics__tl_work`.`shop_report__tl_cohorts`;
DROP TABLE IF EXISTS `analytics__tl_work`.`shop_report__tl_cohorts`;
CREATE OR REPLACE TABLE `analytics`.`shop_report_segments` COPY `analytics__tl_work`.`shop_report__tl_segments`;
DROP TABLE IF EXISTS `analytics__tl_work`.`shop_report__tl_segments`;
CREATE OR REPLACE TABLE `analytics`.`shop_report_migration` COPY `analytics__tl_work`.`shop_report__tl_migration`;
DROP TABLE IF EXISTS `analytics__tl_work`.`shop_report__tl_migration`;
CREATE OR REPLACE TABLE `analytics`.`shop_report` COPY `analytics__tl_work`.`shop_report__tl_build`;
DROP TABLE IF EXISTS `analytics__tl_work`.`shop_report__tl_build`;

-- clean up
DROP TABLE IF EXISTS `analytics__tl_work`.`shop_report__tl_orders`;
