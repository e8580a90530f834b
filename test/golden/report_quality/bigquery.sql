-- quality_report (report) for target bigquery (bigquery)
-- Built into `analytics__tl_work`.`quality_report__tl_build`, `analytics__tl_work`.`quality_report__tl_kpis`, `analytics__tl_work`.`quality_report__tl_programs`, `analytics__tl_work`.`quality_report__tl_uplift`, `analytics__tl_work`.`quality_report__tl_cohorts`, `analytics__tl_work`.`quality_report__tl_segments`, `analytics__tl_work`.`quality_report__tl_migration`, then swapped in by atomic replaces, the model last.

DROP TABLE IF EXISTS `analytics__tl_work`.`quality_report__tl_build`;
DROP TABLE IF EXISTS `analytics__tl_work`.`quality_report__tl_kpis`;
DROP TABLE IF EXISTS `analytics__tl_work`.`quality_report__tl_programs`;
DROP TABLE IF EXISTS `analytics__tl_work`.`quality_report__tl_uplift`;
DROP TABLE IF EXISTS `analytics__tl_work`.`quality_report__tl_cohorts`;
DROP TABLE IF EXISTS `analytics__tl_work`.`quality_report__tl_segments`;
DROP TABLE IF EXISTS `analytics__tl_work`.`quality_report__tl_migration`;

-- channel KPIs per campaign and period
CREATE TABLE `analytics__tl_work`.`quality_report__tl_kpis` AS
WITH `quality_totals` AS (
  SELECT COUNT(*) AS population,
    SUM(CASE WHEN (COALESCE(`q`.`email` IS NOT NULL, FALSE)) THEN 1 ELSE 0 END) AS `share_0`,
    SUM(CASE WHEN (COALESCE(`q`.`phone` IS NOT NULL, FALSE)) THEN 1 ELSE 0 END) AS `share_1`,
    SUM(CASE WHEN (COALESCE(`q`.`email` IS NOT NULL, FALSE)) AND (COALESCE(`q`.`phone` IS NOT NULL, FALSE)) THEN 1 ELSE 0 END) AS `share_2`,
    SUM(CASE WHEN (COALESCE(`q`.`postcode` IS NOT NULL, FALSE)) THEN 1 ELSE 0 END) AS `share_3`,
    SUM(CASE WHEN (COALESCE(`q`.`consent_sms` = TRUE, FALSE)) THEN 1 ELSE 0 END) AS `share_4`
  FROM `raw`.`profiles` AS `q`
  WHERE (COALESCE(`q`.`is_test` = FALSE, FALSE))
  HAVING COUNT(*) > 0
),
`kpi_rows` AS (
  SELECT 'quality' AS channel, CAST(NULL AS STRING) AS campaign, CAST(NULL AS DATE) AS period_start, 'email_completion' AS kpi, CAST(`t`.`share_0` AS FLOAT64) AS numerator, CAST(`t`.population AS FLOAT64) AS denominator, CAST(0.6 AS FLOAT64) AS good, CAST(0.5 AS FLOAT64) AS bad, 'higher' AS better FROM `quality_totals` AS `t`
  UNION ALL
  SELECT 'quality' AS channel, CAST(NULL AS STRING) AS campaign, CAST(NULL AS DATE) AS period_start, 'phone_completion' AS kpi, CAST(`t`.`share_1` AS FLOAT64) AS numerator, CAST(`t`.population AS FLOAT64) AS denominator, CAST(0.8 AS FLOAT64) AS good, CAST(0.6 AS FLOAT64) AS bad, 'higher' AS better FROM `quality_totals` AS `t`
  UNION ALL
  SELECT 'quality' AS channel, CAST(NULL AS STRING) AS campaign, CAST(NULL AS DATE) AS period_start, 'contact_completion' AS kpi, CAST(`t`.`share_2` AS FLOAT64) AS numerator, CAST(`t`.population AS FLOAT64) AS denominator, CAST(NULL AS FLOAT64) AS good, CAST(NULL AS FLOAT64) AS bad, 'higher' AS better FROM `quality_totals` AS `t`
  UNION ALL
  SELECT 'quality' AS channel, CAST(NULL AS STRING) AS campaign, CAST(NULL AS DATE) AS period_start, 'address_completion' AS kpi, CAST(`t`.`share_3` AS FLOAT64) AS numerator, CAST(`t`.population AS FLOAT64) AS denominator, CAST(NULL AS FLOAT64) AS good, CAST(0.9 AS FLOAT64) AS bad, 'higher' AS better FROM `quality_totals` AS `t`
  UNION ALL
  SELECT 'quality' AS channel, CAST(NULL AS STRING) AS campaign, CAST(NULL AS DATE) AS period_start, 'sms_opt_in' AS kpi, CAST(`t`.`share_4` AS FLOAT64) AS numerator, CAST(`t`.population AS FLOAT64) AS denominator, CAST(NULL AS FLOAT64) AS good, CAST(NULL AS FLOAT64) AS bad, 'higher' AS better FROM `quality_totals` AS `t`
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
CREATE TABLE `analytics__tl_work`.`quality_report__tl_programs` AS
SELECT CAST(NULL AS STRING) AS `program`, CAST(NULL AS STRING) AS `kpi`, CAST(NULL AS STRING) AS `measure`, CAST(NULL AS STRING) AS `within_length`, CAST(NULL AS STRING) AS `audiences`, CAST(NULL AS STRING) AS `syncs`, CAST(NULL AS DATE) AS `period_start`, CAST(NULL AS INT64) AS `base`, CAST(NULL AS INT64) AS `converted`, CAST(NULL AS FLOAT64) AS `value`, CAST(NULL AS FLOAT64) AS `good`, CAST(NULL AS FLOAT64) AS `bad`, CAST(NULL AS STRING) AS `status`
WHERE 1 = 0;

-- holdout uplift
CREATE TABLE `analytics__tl_work`.`quality_report__tl_uplift` AS
SELECT CAST(NULL AS STRING) AS `audience`, CAST(NULL AS STRING) AS `treated_group`, CAST(NULL AS STRING) AS `window_length`, CAST(NULL AS TIMESTAMP) AS `first_entry`, CAST(NULL AS TIMESTAMP) AS `last_entry`, CAST(NULL AS INT64) AS `treated`, CAST(NULL AS INT64) AS `holdout`, CAST(NULL AS INT64) AS `pending`, CAST(NULL AS INT64) AS `treated_converters`, CAST(NULL AS INT64) AS `holdout_converters`, CAST(NULL AS FLOAT64) AS `treated_conversion`, CAST(NULL AS FLOAT64) AS `holdout_conversion`, CAST(NULL AS FLOAT64) AS `conversion_uplift`, CAST(NULL AS FLOAT64) AS `conversion_uplift_low`, CAST(NULL AS FLOAT64) AS `conversion_uplift_high`, CAST(NULL AS FLOAT64) AS `conversion_relative`, CAST(NULL AS FLOAT64) AS `conversion_relative_low`, CAST(NULL AS FLOAT64) AS `conversion_relative_high`, CAST(NULL AS FLOAT64) AS `treated_revenue_per_customer`, CAST(NULL AS FLOAT64) AS `holdout_revenue_per_customer`, CAST(NULL AS FLOAT64) AS `revenue_uplift`, CAST(NULL AS FLOAT64) AS `revenue_uplift_low`, CAST(NULL AS FLOAT64) AS `revenue_uplift_high`, CAST(NULL AS FLOAT64) AS `revenue_relative`, CAST(NULL AS FLOAT64) AS `revenue_relative_low`, CAST(NULL AS FLOAT64) AS `revenue_relative_high`, CAST(NULL AS FLOAT64) AS `revenue_df`, CAST(NULL AS BOOL) AS `too_small`, CAST(NULL AS BOOL) AS `conversion_significant`, CAST(NULL AS BOOL) AS `revenue_significant`
WHERE 1 = 0;

-- cohorts by month of first purchase
CREATE TABLE `analytics__tl_work`.`quality_report__tl_cohorts` AS
SELECT CAST(NULL AS DATE) AS `cohort_month`, CAST(NULL AS INT64) AS `customers`, CAST(NULL AS INT64) AS `months_after`, CAST(NULL AS BOOL) AS `complete`, CAST(NULL AS INT64) AS `repeat_customers`, CAST(NULL AS FLOAT64) AS `repeat_rate`, CAST(NULL AS FLOAT64) AS `first_day_revenue_per_customer`, CAST(NULL AS FLOAT64) AS `revenue_per_customer`, CAST(NULL AS FLOAT64) AS `revenue_index`
WHERE 1 = 0;

-- revenue per segment
CREATE TABLE `analytics__tl_work`.`quality_report__tl_segments` AS
SELECT CAST(NULL AS DATE) AS `snapshot_date`, CAST(NULL AS STRING) AS `segment`, CAST(NULL AS INT64) AS `customers`, CAST(NULL AS FLOAT64) AS `customer_share`, CAST(NULL AS INT64) AS `orders`, CAST(NULL AS FLOAT64) AS `revenue`, CAST(NULL AS FLOAT64) AS `revenue_share`, CAST(NULL AS FLOAT64) AS `revenue_per_customer`
WHERE 1 = 0;

-- segment migration
CREATE TABLE `analytics__tl_work`.`quality_report__tl_migration` AS
SELECT CAST(NULL AS DATE) AS `from_date`, CAST(NULL AS DATE) AS `to_date`, CAST(NULL AS STRING) AS `from_segment`, CAST(NULL AS STRING) AS `to_segment`, CAST(NULL AS INT64) AS `customers`, CAST(NULL AS FLOAT64) AS `share`
WHERE 1 = 0;

-- scorecard
CREATE TABLE `analytics__tl_work`.`quality_report__tl_build` AS
SELECT 'channel' AS section, k.channel AS subject, k.kpi, k.value, CAST(NULL AS FLOAT64) AS low, CAST(NULL AS FLOAT64) AS high, k.status,
  CASE WHEN k.status = 'bad' THEN TRUE ELSE FALSE END AS flagged, DATE '2026-06-30' AS as_of
FROM `analytics__tl_work`.`quality_report__tl_kpis` AS k
WHERE k.campaign IS NULL AND k.period_start IS NULL
UNION ALL
SELECT 'program' AS section, p.program AS subject, p.kpi, p.value, CAST(NULL AS FLOAT64) AS low, CAST(NULL AS FLOAT64) AS high, p.status,
  CASE WHEN p.status = 'bad' THEN TRUE ELSE FALSE END AS flagged, DATE '2026-06-30' AS as_of
FROM `analytics__tl_work`.`quality_report__tl_programs` AS p
WHERE p.period_start IS NULL
UNION ALL
SELECT 'uplift' AS section, u.audience || ' / ' || u.treated_group AS subject, 'conversion_uplift' AS kpi,
  u.conversion_uplift AS value, u.conversion_uplift_low AS low, u.conversion_uplift_high AS high,
  CASE WHEN u.too_small THEN 'too_small' WHEN u.conversion_significant THEN 'significant' ELSE 'not_significant' END AS status, CASE WHEN u.too_small THEN TRUE ELSE FALSE END AS flagged, DATE '2026-06-30' AS as_of
FROM `analytics__tl_work`.`quality_report__tl_uplift` AS u
UNION ALL
SELECT 'uplift' AS section, u.audience || ' / ' || u.treated_group AS subject, 'revenue_uplift' AS kpi,
  u.revenue_uplift AS value, u.revenue_uplift_low AS low, u.revenue_uplift_high AS high,
  CASE WHEN u.too_small THEN 'too_small' WHEN u.revenue_significant THEN 'significant' ELSE 'not_significant' END AS status, CASE WHEN u.too_small THEN TRUE ELSE FALSE END AS flagged, DATE '2026-06-30' AS as_of
FROM `analytics__tl_work`.`quality_report__tl_uplift` AS u;

-- swap in
CREATE OR REPLACE TABLE `analytics`.`quality_report_kpis` COPY `analytics__tl_work`.`quality_report__tl_kpis`;
DROP TABLE IF EXISTS `analytics__tl_work`.`quality_report__tl_kpis`;
CREATE OR REPLACE TABLE `analytics`.`quality_report_programs` COPY `analytics__tl_work`.`quality_report__tl_programs`;
DROP TABLE IF EXISTS `analytics__tl_work`.`quality_report__tl_programs`;
CREATE OR REPLACE TABLE `analytics`.`quality_report_uplift` COPY `analytics__tl_work`.`quality_report__tl_uplift`;
DROP TABLE IF EXISTS `analytics__tl_work`.`quality_report__tl_uplift`;
CREATE OR REPLACE TABLE `analytics`.`quality_report_cohorts` COPY `analytics__tl_work`.`quality_report__tl_cohorts`;
DROP TABLE IF EXISTS `analytics__tl_work`.`quality_report__tl_cohorts`;
CREATE OR REPLACE TABLE `analytics`.`quality_report_segments` COPY `analytics__tl_work`.`quality_report__tl_segments`;
DROP TABLE IF EXISTS `analytics__tl_work`.`quality_report__tl_segments`;
CREATE OR REPLACE TABLE `analytics`.`quality_report_migration` COPY `analytics__tl_work`.`quality_report__tl_migration`;
DROP TABLE IF EXISTS `analytics__tl_work`.`quality_report__tl_migration`;
CREATE OR REPLACE TABLE `analytics`.`quality_report` COPY `analytics__tl_work`.`quality_report__tl_build`;
DROP TABLE IF EXISTS `analytics__tl_work`.`quality_report__tl_build`;
