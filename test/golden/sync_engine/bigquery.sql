-- state schema
CREATE SCHEMA IF NOT EXISTS `tideline_state`;

CREATE TABLE IF NOT EXISTS `tideline_state`.`sync_runs` (`run_id` STRING, `sync_name` STRING, `mode` STRING, `started_at` TIMESTAMP, `finished_at` TIMESTAMP, `status` STRING, `added` INT64, `changed` INT64, `removed` INT64, `held_back` INT64, `invalid` INT64, `sent` INT64, `accepted` INT64, `rejected` INT64, `requests` INT64, `error` STRING, `too_old` INT64);

CREATE TABLE IF NOT EXISTS `tideline_state`.`sync_rejected` (`sync_name` STRING, `record_key` STRING, `record_hash` STRING, `operation` STRING, `run_id` STRING, `error_code` STRING, `error_message` STRING, `retryable` BOOL, `attempts` INT64, `first_rejected_at` TIMESTAMP, `last_rejected_at` TIMESTAMP);

CREATE TABLE IF NOT EXISTS `tideline_state`.`sync_locks` (`lock_key` STRING, `sync_name` STRING, `run_id` STRING, `host` STRING, `pid` INT64, `acquired_at` TIMESTAMP, `expires_at` TIMESTAMP, PRIMARY KEY (`lock_key`) NOT ENFORCED);

CREATE TABLE IF NOT EXISTS `tideline_state`.`sync_meta` (`name` STRING, `value` STRING);

CREATE TABLE IF NOT EXISTS `tideline_state`.`sync_messages` (`sync_name` STRING, `model` STRING, `audience` STRING, `record_key` STRING, `contact_key` STRING, `channel` STRING, `message_type` STRING, `run_id` STRING, `sent_at` TIMESTAMP);

CREATE TABLE IF NOT EXISTS `tideline_state`.`privacy_audit` (`run_id` STRING, `sync_name` STRING, `destination` STRING, `destination_type` STRING, `object` STRING, `mode` STRING, `fields` STRING, `records` INT64, `removed` INT64, `sent_at` TIMESTAMP);

-- tables of the sync
CREATE TABLE IF NOT EXISTS `tideline_state`.`snapshot__crm_contacts` (`record_key` STRING, `record_hash` STRING, `destination_id` STRING, `retained` STRING, `last_status` STRING, `last_attempt_at` TIMESTAMP, `last_run_id` STRING, `synced_at` TIMESTAMP);

CREATE TABLE IF NOT EXISTS `tideline_state`.`journal__crm_contacts` (`seq` INT64, `accepted` BOOL, `destination_id` STRING, `retained` STRING, `error_code` STRING, `error_message` STRING, `retryable` BOOL);

-- materialise the change set
CREATE TABLE `tideline_state`.`changes__crm_contacts` AS
SELECT * FROM (
SELECT ROW_NUMBER() OVER (ORDER BY CASE `op` WHEN 'removed' THEN 1 WHEN 'changed' THEN 2 WHEN 'added' THEN 3 WHEN 'held_back' THEN 4 WHEN 'too_old' THEN 5 WHEN 'forgotten' THEN 6 WHEN 'suppressed' THEN 7 WHEN 'no_consent' THEN 8 WHEN 'duplicate_key' THEN 9 WHEN 'null_key' THEN 10 END, `record_key`) AS `seq`, d.* FROM (
WITH mapped AS (
  SELECT LOWER(TRIM(`email`)) AS `record_key`, `first_name` AS `f_0`, FORMAT_TIMESTAMP('%d/%m/%Y', CAST(`created_at` AS TIMESTAMP), 'UTC') AS `f_1`, FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%E3SZ', CAST(`last_order_at` AS TIMESTAMP), 'UTC') AS `f_2`, TO_HEX(SHA256(LOWER(TRIM(`email`)))) AS `f_3`, `ltv` AS `f_4`, `p_churn` AS `f_5`, `is_vip` AS `f_6`, 'tideline' AS `f_7`
  FROM `analytics`.`customers`
),
shared AS (
  SELECT `record_key` FROM mapped WHERE `record_key` IS NOT NULL GROUP BY `record_key` HAVING COUNT(*) > 1
),
keyed AS (
  SELECT `m`.*, TO_HEX(MD5('8:contacts5:email' || '10:first_name' || COALESCE(CAST(LENGTH(`m`.`f_0`) AS STRING) || ':' || `m`.`f_0`, '~') || '10:signup_day' || COALESCE(CAST(LENGTH(`m`.`f_1`) AS STRING) || ':' || `m`.`f_1`, '~') || '10:last_order' || COALESCE(CAST(LENGTH(`m`.`f_2`) AS STRING) || ':' || `m`.`f_2`, '~') || '12:email_sha256' || COALESCE(CAST(LENGTH(`m`.`f_3`) AS STRING) || ':' || `m`.`f_3`, '~') || '14:lifetime_value' || COALESCE(CAST(LENGTH(CAST(CAST(`m`.`f_4` AS DECIMAL(38,9)) AS STRING)) AS STRING) || ':' || CAST(CAST(`m`.`f_4` AS DECIMAL(38,9)) AS STRING), '~') || '10:churn_risk' || COALESCE(CAST(LENGTH(CASE WHEN ABS(`m`.`f_5`) < 1e15 THEN CAST(CAST(`m`.`f_5` AS DECIMAL(22,6)) AS STRING) ELSE CAST(`m`.`f_5` AS STRING) END) AS STRING) || ':' || CASE WHEN ABS(`m`.`f_5`) < 1e15 THEN CAST(CAST(`m`.`f_5` AS DECIMAL(22,6)) AS STRING) ELSE CAST(`m`.`f_5` AS STRING) END, '~') || '3:vip' || COALESCE(CAST(LENGTH(CASE WHEN `m`.`f_6` THEN 'true' WHEN NOT `m`.`f_6` THEN 'false' END) AS STRING) || ':' || CASE WHEN `m`.`f_6` THEN 'true' WHEN NOT `m`.`f_6` THEN 'false' END, '~') || '6:source' || COALESCE(CAST(LENGTH(`m`.`f_7`) AS STRING) || ':' || `m`.`f_7`, '~'))) AS `record_hash`
  FROM mapped AS `m`
),
sendable_rows AS (
  SELECT `m`.*
  FROM keyed AS `m`
  LEFT JOIN (SELECT `record_key`, `record_hash`, `last_status` FROM `tideline_state`.`snapshot__crm_contacts` AS `h`) AS `s` ON `s`.`record_key` = `m`.`record_key`
  WHERE `m`.`record_key` IS NOT NULL AND NOT EXISTS (SELECT 1 FROM shared AS `k` WHERE `k`.`record_key` = `m`.`record_key`) AND (`s`.`record_key` IS NULL OR `s`.`record_hash` IS NULL OR `s`.`record_hash` <> `m`.`record_hash`)
)
SELECT CASE WHEN `r`.`record_key` IS NOT NULL THEN 'held_back' WHEN (`s`.`record_key` IS NULL OR `s`.`synced_at` IS NULL) THEN 'added' ELSE 'changed' END AS `op`,
    `m`.`record_key`, `m`.`record_hash`, `s`.`destination_id`, `s`.`retained`, `s`.`last_run_id` AS `prior_run`, COALESCE(`s`.`last_status` = 'in_doubt', FALSE) AS `in_doubt`, `m`.`f_0`, `m`.`f_1`, `m`.`f_2`, `m`.`f_3`, `m`.`f_4`, `m`.`f_5`, `m`.`f_6`, `m`.`f_7`
  FROM sendable_rows AS `m`
  LEFT JOIN `tideline_state`.`snapshot__crm_contacts` AS `s` ON `s`.`record_key` = `m`.`record_key`
  LEFT JOIN (SELECT `record_key`, `record_hash` FROM `tideline_state`.`sync_rejected` WHERE `sync_name` = 'crm_contacts' AND `retryable` = FALSE) AS `r` ON `r`.`record_key` = `m`.`record_key` AND `r`.`record_hash` = `m`.`record_hash`
UNION ALL
SELECT CASE WHEN `m`.`record_key` IS NULL THEN 'null_key' ELSE 'duplicate_key' END,
    `m`.`record_key`, CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), FALSE, `m`.`f_0`, `m`.`f_1`, `m`.`f_2`, `m`.`f_3`, `m`.`f_4`, `m`.`f_5`, `m`.`f_6`, `m`.`f_7`
  FROM keyed AS `m`
  WHERE `m`.`record_key` IS NULL OR EXISTS (SELECT 1 FROM shared AS `k` WHERE `k`.`record_key` = `m`.`record_key`)
UNION ALL
SELECT 'removed', `s`.`record_key`, CAST(NULL AS STRING), `s`.`destination_id`, `s`.`retained`, `s`.`last_run_id`, FALSE, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM `tideline_state`.`snapshot__crm_contacts` AS `s`
  WHERE NOT EXISTS (SELECT 1 FROM mapped AS `m` WHERE `m`.`record_key` = `s`.`record_key`)
) AS d
) AS numbered;

-- count it
SELECT `op`, COUNT(*) AS `n` FROM `tideline_state`.`changes__crm_contacts` GROUP BY `op`;

-- read a page
SELECT STRING_AGG(TO_JSON_STRING(JSON_ARRAY(`seq`, `op`, `record_key`, `destination_id`, `retained`, `record_hash`, `prior_run`, `in_doubt`, `f_0`, `f_1`, `f_2`, `f_3`, `f_4`, `f_5`, `f_6`, `f_7`)), ',' ORDER BY `seq`) AS `page` FROM `tideline_state`.`changes__crm_contacts` WHERE `seq` > 20000 AND `seq` <= 30000 AND `op` IN ('removed', 'changed', 'added');

-- record invalid keys, forget stale rejections
DELETE FROM `tideline_state`.`sync_rejected` WHERE `sync_name` = 'crm_contacts' AND `record_key` NOT IN (SELECT `record_key` FROM `tideline_state`.`changes__crm_contacts` WHERE `record_key` IS NOT NULL);

MERGE INTO `tideline_state`.`sync_rejected` AS `t`
USING (
SELECT 'crm_contacts' AS `sync_name`, c.`record_key` AS `record_key`, CAST(NULL AS STRING) AS `record_hash`, CAST(NULL AS STRING) AS `operation`, 'run-1' AS `run_id`, 'duplicate_key' AS `error_code`, 'several model rows share this key: none is sent until it is unique' AS `error_message`, FALSE AS `retryable`, COALESCE(p.`attempts`, 0) + 1 AS `attempts`, COALESCE(p.`first_rejected_at`, CAST('2026-01-02 03:04:05.678' AS TIMESTAMP)) AS `first_rejected_at`, CAST('2026-01-02 03:04:05.678' AS TIMESTAMP) AS `last_rejected_at`
FROM (SELECT DISTINCT `record_key` FROM `tideline_state`.`changes__crm_contacts` WHERE `op` = 'duplicate_key') AS c
LEFT JOIN `tideline_state`.`sync_rejected` AS p ON p.`sync_name` = 'crm_contacts' AND p.`record_key` = c.`record_key`
) AS `s`
ON `t`.`sync_name` = `s`.`sync_name` AND `t`.`record_key` = `s`.`record_key`
WHEN MATCHED THEN UPDATE SET `record_hash` = `s`.`record_hash`, `operation` = `s`.`operation`, `run_id` = `s`.`run_id`, `error_code` = `s`.`error_code`, `error_message` = `s`.`error_message`, `retryable` = `s`.`retryable`, `attempts` = `s`.`attempts`, `first_rejected_at` = `s`.`first_rejected_at`, `last_rejected_at` = `s`.`last_rejected_at`
WHEN NOT MATCHED THEN INSERT (`sync_name`, `record_key`, `record_hash`, `operation`, `run_id`, `error_code`, `error_message`, `retryable`, `attempts`, `first_rejected_at`, `last_rejected_at`) VALUES (`s`.`sync_name`, `s`.`record_key`, `s`.`record_hash`, `s`.`operation`, `s`.`run_id`, `s`.`error_code`, `s`.`error_message`, `s`.`retryable`, `s`.`attempts`, `s`.`first_rejected_at`, `s`.`last_rejected_at`);

-- fold the journal into the snapshot (one atomic unit; records sent without an answer are kept in doubt)
MERGE INTO `tideline_state`.`snapshot__crm_contacts` AS `t`
USING (
SELECT x.`record_key` AS `record_key`, x.`record_hash` AS `record_hash`, COALESCE(x.`destination_id`, p.`destination_id`) AS `destination_id`, COALESCE(x.`retained`, p.`retained`) AS `retained`, 'synced' AS `last_status`, CAST('2026-01-02 03:04:05.678' AS TIMESTAMP) AS `last_attempt_at`, 'run-1' AS `last_run_id`, CAST('2026-01-02 03:04:05.678' AS TIMESTAMP) AS `synced_at`
FROM (SELECT c.`record_key`, c.`record_hash`, c.`op`, j.* FROM `tideline_state`.`journal__crm_contacts` AS j JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` = j.`seq` WHERE j.`accepted` IS NOT NULL) AS x JOIN `tideline_state`.`snapshot__crm_contacts` AS p ON p.`record_key` = x.`record_key`
WHERE x.`accepted` AND x.`op` <> 'removed'
) AS `s`
ON `t`.`record_key` = `s`.`record_key`
WHEN MATCHED THEN UPDATE SET `record_hash` = `s`.`record_hash`, `destination_id` = `s`.`destination_id`, `retained` = `s`.`retained`, `last_status` = `s`.`last_status`, `last_attempt_at` = `s`.`last_attempt_at`, `last_run_id` = `s`.`last_run_id`, `synced_at` = `s`.`synced_at`
WHEN NOT MATCHED THEN INSERT (`record_key`, `record_hash`, `destination_id`, `retained`, `last_status`, `last_attempt_at`, `last_run_id`, `synced_at`) VALUES (`s`.`record_key`, `s`.`record_hash`, `s`.`destination_id`, `s`.`retained`, `s`.`last_status`, `s`.`last_attempt_at`, `s`.`last_run_id`, `s`.`synced_at`);

INSERT INTO `tideline_state`.`snapshot__crm_contacts` (`record_key`, `record_hash`, `destination_id`, `retained`, `last_status`, `last_attempt_at`, `last_run_id`, `synced_at`)
SELECT `record_key`, `record_hash`, `destination_id`, `retained`, `last_status`, `last_attempt_at`, `last_run_id`, `synced_at` FROM (SELECT x.`record_key` AS `record_key`, x.`record_hash` AS `record_hash`, COALESCE(x.`destination_id`, p.`destination_id`) AS `destination_id`, COALESCE(x.`retained`, p.`retained`) AS `retained`, 'synced' AS `last_status`, CAST('2026-01-02 03:04:05.678' AS TIMESTAMP) AS `last_attempt_at`, 'run-1' AS `last_run_id`, CAST('2026-01-02 03:04:05.678' AS TIMESTAMP) AS `synced_at`
FROM (SELECT c.`record_key`, c.`record_hash`, c.`op`, j.* FROM `tideline_state`.`journal__crm_contacts` AS j JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` = j.`seq` WHERE j.`accepted` IS NOT NULL) AS x LEFT JOIN `tideline_state`.`snapshot__crm_contacts` AS p ON p.`record_key` = x.`record_key`
WHERE x.`accepted` AND x.`op` <> 'removed' AND p.`record_key` IS NULL) AS `n`;

DELETE FROM `tideline_state`.`snapshot__crm_contacts` WHERE `record_key` IN (SELECT x.`record_key` FROM (SELECT c.`record_key`, c.`record_hash`, c.`op`, j.* FROM `tideline_state`.`journal__crm_contacts` AS j JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` = j.`seq` WHERE j.`accepted` IS NOT NULL) AS x WHERE x.`accepted` AND x.`op` = 'removed');

UPDATE `tideline_state`.`snapshot__crm_contacts` SET `last_status` = 'rejected', `last_attempt_at` = CAST('2026-01-02 03:04:05.678' AS TIMESTAMP) WHERE `record_key` IN (SELECT x.`record_key` FROM (SELECT c.`record_key`, c.`record_hash`, c.`op`, j.* FROM `tideline_state`.`journal__crm_contacts` AS j JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` = j.`seq` WHERE j.`accepted` IS NOT NULL) AS x WHERE NOT x.`accepted`);

MERGE INTO `tideline_state`.`snapshot__crm_contacts` AS `t`
USING (
SELECT c.`record_key` AS `record_key`, CAST(NULL AS STRING) AS `record_hash`, p.`destination_id` AS `destination_id`, COALESCE(m.`retained`, p.`retained`) AS `retained`, 'in_doubt' AS `last_status`, CAST('2026-01-02 03:04:05.678' AS TIMESTAMP) AS `last_attempt_at`, p.`last_run_id` AS `last_run_id`, p.`synced_at` AS `synced_at`
FROM (SELECT DISTINCT `seq` FROM `tideline_state`.`journal__crm_contacts` AS j WHERE `error_code` = 'in_doubt') AS q
JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` = q.`seq`
LEFT JOIN `tideline_state`.`snapshot__crm_contacts` AS p ON p.`record_key` = c.`record_key`
LEFT JOIN (SELECT `seq`, MAX(`retained`) AS `retained` FROM `tideline_state`.`journal__crm_contacts` WHERE `accepted` IS NULL GROUP BY `seq`) AS m ON m.`seq` = c.`seq`
WHERE c.`op` IN ('removed', 'changed', 'added')
  AND NOT EXISTS (SELECT 1 FROM `tideline_state`.`journal__crm_contacts` AS j WHERE j.`seq` = c.`seq` AND (j.`accepted` OR j.`retryable` = FALSE))
) AS `s`
ON `t`.`record_key` = `s`.`record_key`
WHEN MATCHED THEN UPDATE SET `record_hash` = `s`.`record_hash`, `destination_id` = `s`.`destination_id`, `retained` = `s`.`retained`, `last_status` = `s`.`last_status`, `last_attempt_at` = `s`.`last_attempt_at`, `last_run_id` = `s`.`last_run_id`, `synced_at` = `s`.`synced_at`
WHEN NOT MATCHED THEN INSERT (`record_key`, `record_hash`, `destination_id`, `retained`, `last_status`, `last_attempt_at`, `last_run_id`, `synced_at`) VALUES (`s`.`record_key`, `s`.`record_hash`, `s`.`destination_id`, `s`.`retained`, `s`.`last_status`, `s`.`last_attempt_at`, `s`.`last_run_id`, `s`.`synced_at`);

DELETE FROM `tideline_state`.`sync_rejected` WHERE `sync_name` = 'crm_contacts' AND `record_key` IN (SELECT x.`record_key` FROM (SELECT c.`record_key`, c.`record_hash`, c.`op`, j.* FROM `tideline_state`.`journal__crm_contacts` AS j JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` = j.`seq` WHERE j.`accepted` IS NOT NULL) AS x WHERE x.`accepted`);

MERGE INTO `tideline_state`.`sync_rejected` AS `t`
USING (
SELECT 'crm_contacts' AS `sync_name`, x.`record_key` AS `record_key`, x.`record_hash` AS `record_hash`, x.`op` AS `operation`, 'run-1' AS `run_id`, x.`error_code` AS `error_code`, x.`error_message` AS `error_message`, x.`retryable` AS `retryable`, COALESCE(p.`attempts`, 0) + 1 AS `attempts`, COALESCE(p.`first_rejected_at`, CAST('2026-01-02 03:04:05.678' AS TIMESTAMP)) AS `first_rejected_at`, CAST('2026-01-02 03:04:05.678' AS TIMESTAMP) AS `last_rejected_at`
FROM (SELECT c.`record_key`, c.`record_hash`, c.`op`, j.* FROM `tideline_state`.`journal__crm_contacts` AS j JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` = j.`seq` WHERE j.`accepted` IS NOT NULL) AS x LEFT JOIN `tideline_state`.`sync_rejected` AS p ON p.`sync_name` = 'crm_contacts' AND p.`record_key` = x.`record_key`
WHERE NOT x.`accepted`
) AS `s`
ON `t`.`sync_name` = `s`.`sync_name` AND `t`.`record_key` = `s`.`record_key`
WHEN MATCHED THEN UPDATE SET `record_hash` = `s`.`record_hash`, `operation` = `s`.`operation`, `run_id` = `s`.`run_id`, `error_code` = `s`.`error_code`, `error_message` = `s`.`error_message`, `retryable` = `s`.`retryable`, `attempts` = `s`.`attempts`, `first_rejected_at` = `s`.`first_rejected_at`, `last_rejected_at` = `s`.`last_rejected_at`
WHEN NOT MATCHED THEN INSERT (`sync_name`, `record_key`, `record_hash`, `operation`, `run_id`, `error_code`, `error_message`, `retryable`, `attempts`, `first_rejected_at`, `last_rejected_at`) VALUES (`s`.`sync_name`, `s`.`record_key`, `s`.`record_hash`, `s`.`operation`, `s`.`run_id`, `s`.`error_code`, `s`.`error_message`, `s`.`retryable`, `s`.`attempts`, `s`.`first_rejected_at`, `s`.`last_rejected_at`);

UPDATE `tideline_state`.`sync_runs` SET `sent` = COALESCE(`sent`, 0) + (SELECT COUNT(*) FROM `tideline_state`.`journal__crm_contacts` AS j WHERE `accepted` IS NOT NULL), `accepted` = COALESCE(`accepted`, 0) + (SELECT COUNT(*) FROM `tideline_state`.`journal__crm_contacts` AS j WHERE `accepted`), `rejected` = COALESCE(`rejected`, 0) + (SELECT COUNT(*) FROM `tideline_state`.`journal__crm_contacts` AS j WHERE NOT `accepted`) WHERE `run_id` = 'run-1';

DELETE FROM `tideline_state`.`journal__crm_contacts` WHERE 1 = 1;

-- fold the journal of a run that died (what it dispatched without an outcome is in doubt)
MERGE INTO `tideline_state`.`snapshot__crm_contacts` AS `t`
USING (
SELECT x.`record_key` AS `record_key`, x.`record_hash` AS `record_hash`, COALESCE(x.`destination_id`, p.`destination_id`) AS `destination_id`, COALESCE(x.`retained`, p.`retained`) AS `retained`, 'synced' AS `last_status`, CAST('2026-01-02 03:04:05.678' AS TIMESTAMP) AS `last_attempt_at`, 'run-0' AS `last_run_id`, CAST('2026-01-02 03:04:05.678' AS TIMESTAMP) AS `synced_at`
FROM (SELECT c.`record_key`, c.`record_hash`, c.`op`, j.* FROM `tideline_state`.`journal__crm_contacts` AS j JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` = j.`seq` WHERE j.`accepted` IS NOT NULL) AS x JOIN `tideline_state`.`snapshot__crm_contacts` AS p ON p.`record_key` = x.`record_key`
WHERE x.`accepted` AND x.`op` <> 'removed'
) AS `s`
ON `t`.`record_key` = `s`.`record_key`
WHEN MATCHED THEN UPDATE SET `record_hash` = `s`.`record_hash`, `destination_id` = `s`.`destination_id`, `retained` = `s`.`retained`, `last_status` = `s`.`last_status`, `last_attempt_at` = `s`.`last_attempt_at`, `last_run_id` = `s`.`last_run_id`, `synced_at` = `s`.`synced_at`
WHEN NOT MATCHED THEN INSERT (`record_key`, `record_hash`, `destination_id`, `retained`, `last_status`, `last_attempt_at`, `last_run_id`, `synced_at`) VALUES (`s`.`record_key`, `s`.`record_hash`, `s`.`destination_id`, `s`.`retained`, `s`.`last_status`, `s`.`last_attempt_at`, `s`.`last_run_id`, `s`.`synced_at`);

INSERT INTO `tideline_state`.`snapshot__crm_contacts` (`record_key`, `record_hash`, `destination_id`, `retained`, `last_status`, `last_attempt_at`, `last_run_id`, `synced_at`)
SELECT `record_key`, `record_hash`, `destination_id`, `retained`, `last_status`, `last_attempt_at`, `last_run_id`, `synced_at` FROM (SELECT x.`record_key` AS `record_key`, x.`record_hash` AS `record_hash`, COALESCE(x.`destination_id`, p.`destination_id`) AS `destination_id`, COALESCE(x.`retained`, p.`retained`) AS `retained`, 'synced' AS `last_status`, CAST('2026-01-02 03:04:05.678' AS TIMESTAMP) AS `last_attempt_at`, 'run-0' AS `last_run_id`, CAST('2026-01-02 03:04:05.678' AS TIMESTAMP) AS `synced_at`
FROM (SELECT c.`record_key`, c.`record_hash`, c.`op`, j.* FROM `tideline_state`.`journal__crm_contacts` AS j JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` = j.`seq` WHERE j.`accepted` IS NOT NULL) AS x LEFT JOIN `tideline_state`.`snapshot__crm_contacts` AS p ON p.`record_key` = x.`record_key`
WHERE x.`accepted` AND x.`op` <> 'removed' AND p.`record_key` IS NULL) AS `n`;

DELETE FROM `tideline_state`.`snapshot__crm_contacts` WHERE `record_key` IN (SELECT x.`record_key` FROM (SELECT c.`record_key`, c.`record_hash`, c.`op`, j.* FROM `tideline_state`.`journal__crm_contacts` AS j JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` = j.`seq` WHERE j.`accepted` IS NOT NULL) AS x WHERE x.`accepted` AND x.`op` = 'removed');

UPDATE `tideline_state`.`snapshot__crm_contacts` SET `last_status` = 'rejected', `last_attempt_at` = CAST('2026-01-02 03:04:05.678' AS TIMESTAMP) WHERE `record_key` IN (SELECT x.`record_key` FROM (SELECT c.`record_key`, c.`record_hash`, c.`op`, j.* FROM `tideline_state`.`journal__crm_contacts` AS j JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` = j.`seq` WHERE j.`accepted` IS NOT NULL) AS x WHERE NOT x.`accepted`);

MERGE INTO `tideline_state`.`snapshot__crm_contacts` AS `t`
USING (
SELECT c.`record_key` AS `record_key`, CAST(NULL AS STRING) AS `record_hash`, p.`destination_id` AS `destination_id`, COALESCE(m.`retained`, p.`retained`) AS `retained`, 'in_doubt' AS `last_status`, CAST('2026-01-02 03:04:05.678' AS TIMESTAMP) AS `last_attempt_at`, p.`last_run_id` AS `last_run_id`, p.`synced_at` AS `synced_at`
FROM (SELECT MAX(CASE WHEN `error_code` = 'folded' THEN NULL ELSE `seq` END) AS `upto`, COALESCE(MAX(CASE WHEN `error_code` = 'folded' THEN `seq` END), 0) AS `after` FROM `tideline_state`.`journal__crm_contacts` WHERE `accepted` IS NULL) AS q
JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` <= q.`upto` AND c.`seq` > q.`after`
LEFT JOIN `tideline_state`.`snapshot__crm_contacts` AS p ON p.`record_key` = c.`record_key`
LEFT JOIN (SELECT `seq`, MAX(`retained`) AS `retained` FROM `tideline_state`.`journal__crm_contacts` WHERE `accepted` IS NULL GROUP BY `seq`) AS m ON m.`seq` = c.`seq`
WHERE c.`op` IN ('removed', 'changed', 'added')
  AND NOT EXISTS (SELECT 1 FROM `tideline_state`.`journal__crm_contacts` AS j WHERE j.`seq` = c.`seq` AND (j.`accepted` OR j.`retryable` = FALSE))
) AS `s`
ON `t`.`record_key` = `s`.`record_key`
WHEN MATCHED THEN UPDATE SET `record_hash` = `s`.`record_hash`, `destination_id` = `s`.`destination_id`, `retained` = `s`.`retained`, `last_status` = `s`.`last_status`, `last_attempt_at` = `s`.`last_attempt_at`, `last_run_id` = `s`.`last_run_id`, `synced_at` = `s`.`synced_at`
WHEN NOT MATCHED THEN INSERT (`record_key`, `record_hash`, `destination_id`, `retained`, `last_status`, `last_attempt_at`, `last_run_id`, `synced_at`) VALUES (`s`.`record_key`, `s`.`record_hash`, `s`.`destination_id`, `s`.`retained`, `s`.`last_status`, `s`.`last_attempt_at`, `s`.`last_run_id`, `s`.`synced_at`);

DELETE FROM `tideline_state`.`sync_rejected` WHERE `sync_name` = 'crm_contacts' AND `record_key` IN (SELECT x.`record_key` FROM (SELECT c.`record_key`, c.`record_hash`, c.`op`, j.* FROM `tideline_state`.`journal__crm_contacts` AS j JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` = j.`seq` WHERE j.`accepted` IS NOT NULL) AS x WHERE x.`accepted`);

MERGE INTO `tideline_state`.`sync_rejected` AS `t`
USING (
SELECT 'crm_contacts' AS `sync_name`, x.`record_key` AS `record_key`, x.`record_hash` AS `record_hash`, x.`op` AS `operation`, 'run-0' AS `run_id`, x.`error_code` AS `error_code`, x.`error_message` AS `error_message`, x.`retryable` AS `retryable`, COALESCE(p.`attempts`, 0) + 1 AS `attempts`, COALESCE(p.`first_rejected_at`, CAST('2026-01-02 03:04:05.678' AS TIMESTAMP)) AS `first_rejected_at`, CAST('2026-01-02 03:04:05.678' AS TIMESTAMP) AS `last_rejected_at`
FROM (SELECT c.`record_key`, c.`record_hash`, c.`op`, j.* FROM `tideline_state`.`journal__crm_contacts` AS j JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` = j.`seq` WHERE j.`accepted` IS NOT NULL) AS x LEFT JOIN `tideline_state`.`sync_rejected` AS p ON p.`sync_name` = 'crm_contacts' AND p.`record_key` = x.`record_key`
WHERE NOT x.`accepted`
) AS `s`
ON `t`.`sync_name` = `s`.`sync_name` AND `t`.`record_key` = `s`.`record_key`
WHEN MATCHED THEN UPDATE SET `record_hash` = `s`.`record_hash`, `operation` = `s`.`operation`, `run_id` = `s`.`run_id`, `error_code` = `s`.`error_code`, `error_message` = `s`.`error_message`, `retryable` = `s`.`retryable`, `attempts` = `s`.`attempts`, `first_rejected_at` = `s`.`first_rejected_at`, `last_rejected_at` = `s`.`last_rejected_at`
WHEN NOT MATCHED THEN INSERT (`sync_name`, `record_key`, `record_hash`, `operation`, `run_id`, `error_code`, `error_message`, `retryable`, `attempts`, `first_rejected_at`, `last_rejected_at`) VALUES (`s`.`sync_name`, `s`.`record_key`, `s`.`record_hash`, `s`.`operation`, `s`.`run_id`, `s`.`error_code`, `s`.`error_message`, `s`.`retryable`, `s`.`attempts`, `s`.`first_rejected_at`, `s`.`last_rejected_at`);

UPDATE `tideline_state`.`sync_runs` SET `sent` = COALESCE(`sent`, 0) + (SELECT COUNT(*) FROM `tideline_state`.`journal__crm_contacts` AS j WHERE `accepted` IS NOT NULL), `accepted` = COALESCE(`accepted`, 0) + (SELECT COUNT(*) FROM `tideline_state`.`journal__crm_contacts` AS j WHERE `accepted`), `rejected` = COALESCE(`rejected`, 0) + (SELECT COUNT(*) FROM `tideline_state`.`journal__crm_contacts` AS j WHERE NOT `accepted`) WHERE `run_id` = 'run-0';

DELETE FROM `tideline_state`.`journal__crm_contacts` WHERE 1 = 1;

-- fold part of the journal while the run sends (records 20,001 to 40,000; its own atomic unit)
MERGE INTO `tideline_state`.`sync_messages` AS `t`
USING (
SELECT DISTINCT 'crm_contacts' AS `sync_name`, 'customers' AS `model`, CAST(NULL AS STRING) AS `audience`, c.`record_key` AS `record_key`, c.`contact_key` AS `contact_key`, 'email' AS `channel`, 'transactional' AS `message_type`, 'run-1' AS `run_id`, COALESCE((SELECT MAX(`started_at`) FROM `tideline_state`.`sync_runs` WHERE `run_id` = 'run-1'), CAST('2026-01-02 03:04:05.678' AS TIMESTAMP)) AS `sent_at`
FROM `tideline_state`.`journal__crm_contacts` AS j JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` = j.`seq`
WHERE j.`accepted` AND c.`op` = 'added' AND c.`contact_key` IS NOT NULL AND `j`.`seq` <= 40000 AND `c`.`seq` > 20000 AND `c`.`seq` <= 40000
) AS `s`
ON `t`.`sync_name` = `s`.`sync_name` AND `t`.`record_key` = `s`.`record_key` AND `t`.`run_id` = `s`.`run_id`
WHEN MATCHED THEN UPDATE SET `model` = `s`.`model`, `audience` = `s`.`audience`, `contact_key` = `s`.`contact_key`, `channel` = `s`.`channel`, `message_type` = `s`.`message_type`, `sent_at` = `s`.`sent_at`
WHEN NOT MATCHED THEN INSERT (`sync_name`, `model`, `audience`, `record_key`, `contact_key`, `channel`, `message_type`, `run_id`, `sent_at`) VALUES (`s`.`sync_name`, `s`.`model`, `s`.`audience`, `s`.`record_key`, `s`.`contact_key`, `s`.`channel`, `s`.`message_type`, `s`.`run_id`, `s`.`sent_at`);

UPDATE `tideline_state`.`privacy_audit` SET `records` = `records` + (SELECT COUNT(*) FROM `tideline_state`.`journal__crm_contacts` AS j JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` = j.`seq`
WHERE j.`accepted` AND `j`.`seq` <= 40000 AND `c`.`seq` > 20000 AND `c`.`seq` <= 40000), `removed` = `removed` + (SELECT COALESCE(SUM(CASE WHEN c.`op` = 'removed' THEN 1 ELSE 0 END), 0) FROM `tideline_state`.`journal__crm_contacts` AS j JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` = j.`seq`
WHERE j.`accepted` AND `j`.`seq` <= 40000 AND `c`.`seq` > 20000 AND `c`.`seq` <= 40000) WHERE `run_id` = 'run-1' AND `sync_name` = 'crm_contacts';

INSERT INTO `tideline_state`.`privacy_audit` (`run_id`, `sync_name`, `destination`, `destination_type`, `object`, `mode`, `fields`, `records`, `removed`, `sent_at`)
SELECT 'run-1', 'crm_contacts', 'crm', 'hubspot', 'contacts', 'upsert', 'email,first_name', COUNT(*), SUM(CASE WHEN c.`op` = 'removed' THEN 1 ELSE 0 END), CAST('2026-01-02 03:04:05.678' AS TIMESTAMP)
FROM `tideline_state`.`journal__crm_contacts` AS j JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` = j.`seq`
WHERE j.`accepted` AND `j`.`seq` <= 40000 AND `c`.`seq` > 20000 AND `c`.`seq` <= 40000
  AND NOT EXISTS (SELECT 1 FROM `tideline_state`.`privacy_audit` WHERE `run_id` = 'run-1' AND `sync_name` = 'crm_contacts')
HAVING COUNT(*) > 0;

MERGE INTO `tideline_state`.`snapshot__crm_contacts` AS `t`
USING (
SELECT x.`record_key` AS `record_key`, x.`record_hash` AS `record_hash`, COALESCE(x.`destination_id`, p.`destination_id`) AS `destination_id`, COALESCE(x.`retained`, p.`retained`) AS `retained`, 'synced' AS `last_status`, CAST('2026-01-02 03:04:05.678' AS TIMESTAMP) AS `last_attempt_at`, 'run-1' AS `last_run_id`, CAST('2026-01-02 03:04:05.678' AS TIMESTAMP) AS `synced_at`
FROM (SELECT c.`record_key`, c.`record_hash`, c.`op`, j.* FROM `tideline_state`.`journal__crm_contacts` AS j JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` = j.`seq` WHERE j.`accepted` IS NOT NULL AND `j`.`seq` <= 40000 AND `c`.`seq` > 20000 AND `c`.`seq` <= 40000) AS x JOIN `tideline_state`.`snapshot__crm_contacts` AS p ON p.`record_key` = x.`record_key`
WHERE x.`accepted` AND x.`op` <> 'removed'
) AS `s`
ON `t`.`record_key` = `s`.`record_key`
WHEN MATCHED THEN UPDATE SET `record_hash` = `s`.`record_hash`, `destination_id` = `s`.`destination_id`, `retained` = `s`.`retained`, `last_status` = `s`.`last_status`, `last_attempt_at` = `s`.`last_attempt_at`, `last_run_id` = `s`.`last_run_id`, `synced_at` = `s`.`synced_at`
WHEN NOT MATCHED THEN INSERT (`record_key`, `record_hash`, `destination_id`, `retained`, `last_status`, `last_attempt_at`, `last_run_id`, `synced_at`) VALUES (`s`.`record_key`, `s`.`record_hash`, `s`.`destination_id`, `s`.`retained`, `s`.`last_status`, `s`.`last_attempt_at`, `s`.`last_run_id`, `s`.`synced_at`);

INSERT INTO `tideline_state`.`snapshot__crm_contacts` (`record_key`, `record_hash`, `destination_id`, `retained`, `last_status`, `last_attempt_at`, `last_run_id`, `synced_at`)
SELECT `record_key`, `record_hash`, `destination_id`, `retained`, `last_status`, `last_attempt_at`, `last_run_id`, `synced_at` FROM (SELECT x.`record_key` AS `record_key`, x.`record_hash` AS `record_hash`, COALESCE(x.`destination_id`, p.`destination_id`) AS `destination_id`, COALESCE(x.`retained`, p.`retained`) AS `retained`, 'synced' AS `last_status`, CAST('2026-01-02 03:04:05.678' AS TIMESTAMP) AS `last_attempt_at`, 'run-1' AS `last_run_id`, CAST('2026-01-02 03:04:05.678' AS TIMESTAMP) AS `synced_at`
FROM (SELECT c.`record_key`, c.`record_hash`, c.`op`, j.* FROM `tideline_state`.`journal__crm_contacts` AS j JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` = j.`seq` WHERE j.`accepted` IS NOT NULL AND `j`.`seq` <= 40000 AND `c`.`seq` > 20000 AND `c`.`seq` <= 40000) AS x LEFT JOIN `tideline_state`.`snapshot__crm_contacts` AS p ON p.`record_key` = x.`record_key`
WHERE x.`accepted` AND x.`op` <> 'removed' AND p.`record_key` IS NULL) AS `n`;

DELETE FROM `tideline_state`.`snapshot__crm_contacts` WHERE `record_key` IN (SELECT x.`record_key` FROM (SELECT c.`record_key`, c.`record_hash`, c.`op`, j.* FROM `tideline_state`.`journal__crm_contacts` AS j JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` = j.`seq` WHERE j.`accepted` IS NOT NULL AND `j`.`seq` <= 40000 AND `c`.`seq` > 20000 AND `c`.`seq` <= 40000) AS x WHERE x.`accepted` AND x.`op` = 'removed');

UPDATE `tideline_state`.`snapshot__crm_contacts` SET `last_status` = 'rejected', `last_attempt_at` = CAST('2026-01-02 03:04:05.678' AS TIMESTAMP) WHERE `record_key` IN (SELECT x.`record_key` FROM (SELECT c.`record_key`, c.`record_hash`, c.`op`, j.* FROM `tideline_state`.`journal__crm_contacts` AS j JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` = j.`seq` WHERE j.`accepted` IS NOT NULL AND `j`.`seq` <= 40000 AND `c`.`seq` > 20000 AND `c`.`seq` <= 40000) AS x WHERE NOT x.`accepted`);

MERGE INTO `tideline_state`.`snapshot__crm_contacts` AS `t`
USING (
SELECT c.`record_key` AS `record_key`, CAST(NULL AS STRING) AS `record_hash`, p.`destination_id` AS `destination_id`, COALESCE(m.`retained`, p.`retained`) AS `retained`, 'in_doubt' AS `last_status`, CAST('2026-01-02 03:04:05.678' AS TIMESTAMP) AS `last_attempt_at`, p.`last_run_id` AS `last_run_id`, p.`synced_at` AS `synced_at`
FROM (SELECT DISTINCT `seq` FROM `tideline_state`.`journal__crm_contacts` AS j WHERE `error_code` = 'in_doubt' AND `j`.`seq` <= 40000) AS q
JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` = q.`seq` AND `c`.`seq` > 20000 AND `c`.`seq` <= 40000
LEFT JOIN `tideline_state`.`snapshot__crm_contacts` AS p ON p.`record_key` = c.`record_key`
LEFT JOIN (SELECT `seq`, MAX(`retained`) AS `retained` FROM `tideline_state`.`journal__crm_contacts` WHERE `accepted` IS NULL GROUP BY `seq`) AS m ON m.`seq` = c.`seq`
WHERE c.`op` IN ('removed', 'changed', 'added')
  AND NOT EXISTS (SELECT 1 FROM `tideline_state`.`journal__crm_contacts` AS j WHERE j.`seq` = c.`seq` AND (j.`accepted` OR j.`retryable` = FALSE))
) AS `s`
ON `t`.`record_key` = `s`.`record_key`
WHEN MATCHED THEN UPDATE SET `record_hash` = `s`.`record_hash`, `destination_id` = `s`.`destination_id`, `retained` = `s`.`retained`, `last_status` = `s`.`last_status`, `last_attempt_at` = `s`.`last_attempt_at`, `last_run_id` = `s`.`last_run_id`, `synced_at` = `s`.`synced_at`
WHEN NOT MATCHED THEN INSERT (`record_key`, `record_hash`, `destination_id`, `retained`, `last_status`, `last_attempt_at`, `last_run_id`, `synced_at`) VALUES (`s`.`record_key`, `s`.`record_hash`, `s`.`destination_id`, `s`.`retained`, `s`.`last_status`, `s`.`last_attempt_at`, `s`.`last_run_id`, `s`.`synced_at`);

DELETE FROM `tideline_state`.`sync_rejected` WHERE `sync_name` = 'crm_contacts' AND `record_key` IN (SELECT x.`record_key` FROM (SELECT c.`record_key`, c.`record_hash`, c.`op`, j.* FROM `tideline_state`.`journal__crm_contacts` AS j JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` = j.`seq` WHERE j.`accepted` IS NOT NULL AND `j`.`seq` <= 40000 AND `c`.`seq` > 20000 AND `c`.`seq` <= 40000) AS x WHERE x.`accepted`);

MERGE INTO `tideline_state`.`sync_rejected` AS `t`
USING (
SELECT 'crm_contacts' AS `sync_name`, x.`record_key` AS `record_key`, x.`record_hash` AS `record_hash`, x.`op` AS `operation`, 'run-1' AS `run_id`, x.`error_code` AS `error_code`, x.`error_message` AS `error_message`, x.`retryable` AS `retryable`, COALESCE(p.`attempts`, 0) + 1 AS `attempts`, COALESCE(p.`first_rejected_at`, CAST('2026-01-02 03:04:05.678' AS TIMESTAMP)) AS `first_rejected_at`, CAST('2026-01-02 03:04:05.678' AS TIMESTAMP) AS `last_rejected_at`
FROM (SELECT c.`record_key`, c.`record_hash`, c.`op`, j.* FROM `tideline_state`.`journal__crm_contacts` AS j JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` = j.`seq` WHERE j.`accepted` IS NOT NULL AND `j`.`seq` <= 40000 AND `c`.`seq` > 20000 AND `c`.`seq` <= 40000) AS x LEFT JOIN `tideline_state`.`sync_rejected` AS p ON p.`sync_name` = 'crm_contacts' AND p.`record_key` = x.`record_key`
WHERE NOT x.`accepted`
) AS `s`
ON `t`.`sync_name` = `s`.`sync_name` AND `t`.`record_key` = `s`.`record_key`
WHEN MATCHED THEN UPDATE SET `record_hash` = `s`.`record_hash`, `operation` = `s`.`operation`, `run_id` = `s`.`run_id`, `error_code` = `s`.`error_code`, `error_message` = `s`.`error_message`, `retryable` = `s`.`retryable`, `attempts` = `s`.`attempts`, `first_rejected_at` = `s`.`first_rejected_at`, `last_rejected_at` = `s`.`last_rejected_at`
WHEN NOT MATCHED THEN INSERT (`sync_name`, `record_key`, `record_hash`, `operation`, `run_id`, `error_code`, `error_message`, `retryable`, `attempts`, `first_rejected_at`, `last_rejected_at`) VALUES (`s`.`sync_name`, `s`.`record_key`, `s`.`record_hash`, `s`.`operation`, `s`.`run_id`, `s`.`error_code`, `s`.`error_message`, `s`.`retryable`, `s`.`attempts`, `s`.`first_rejected_at`, `s`.`last_rejected_at`);

UPDATE `tideline_state`.`sync_runs` SET `sent` = COALESCE(`sent`, 0) + (SELECT COUNT(*) FROM `tideline_state`.`journal__crm_contacts` AS j WHERE `accepted` IS NOT NULL AND `j`.`seq` <= 40000), `accepted` = COALESCE(`accepted`, 0) + (SELECT COUNT(*) FROM `tideline_state`.`journal__crm_contacts` AS j WHERE `accepted` AND `j`.`seq` <= 40000), `rejected` = COALESCE(`rejected`, 0) + (SELECT COUNT(*) FROM `tideline_state`.`journal__crm_contacts` AS j WHERE NOT `accepted` AND `j`.`seq` <= 40000) WHERE `run_id` = 'run-1';

DELETE FROM `tideline_state`.`journal__crm_contacts` WHERE `seq` <= 40000;

INSERT INTO `tideline_state`.`journal__crm_contacts` (`seq`, `accepted`, `destination_id`, `retained`, `error_code`, `error_message`, `retryable`) VALUES (40000, NULL, NULL, NULL, 'folded', NULL, NULL);

-- a sync whose records are messages: the change set keeps each contact key
CREATE TABLE `tideline_state`.`changes__crm_contacts` AS
SELECT * FROM (
SELECT ROW_NUMBER() OVER (ORDER BY CASE `op` WHEN 'removed' THEN 1 WHEN 'changed' THEN 2 WHEN 'added' THEN 3 WHEN 'held_back' THEN 4 WHEN 'too_old' THEN 5 WHEN 'forgotten' THEN 6 WHEN 'suppressed' THEN 7 WHEN 'no_consent' THEN 8 WHEN 'duplicate_key' THEN 9 WHEN 'null_key' THEN 10 END, `record_key`) AS `seq`, d.* FROM (
WITH mapped AS (
  SELECT LOWER(TRIM(`email`)) AS `record_key`, CAST(`email` AS STRING) AS `contact_key`, `first_name` AS `f_0`, FORMAT_TIMESTAMP('%d/%m/%Y', CAST(`created_at` AS TIMESTAMP), 'UTC') AS `f_1`, FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%E3SZ', CAST(`last_order_at` AS TIMESTAMP), 'UTC') AS `f_2`, TO_HEX(SHA256(LOWER(TRIM(`email`)))) AS `f_3`, `ltv` AS `f_4`, `p_churn` AS `f_5`, `is_vip` AS `f_6`, 'tideline' AS `f_7`
  FROM `analytics`.`customers`
),
shared AS (
  SELECT `record_key` FROM mapped WHERE `record_key` IS NOT NULL GROUP BY `record_key` HAVING COUNT(*) > 1
),
keyed AS (
  SELECT `m`.*, TO_HEX(MD5('8:contacts5:email' || '10:first_name' || COALESCE(CAST(LENGTH(`m`.`f_0`) AS STRING) || ':' || `m`.`f_0`, '~') || '10:signup_day' || COALESCE(CAST(LENGTH(`m`.`f_1`) AS STRING) || ':' || `m`.`f_1`, '~') || '10:last_order' || COALESCE(CAST(LENGTH(`m`.`f_2`) AS STRING) || ':' || `m`.`f_2`, '~') || '12:email_sha256' || COALESCE(CAST(LENGTH(`m`.`f_3`) AS STRING) || ':' || `m`.`f_3`, '~') || '14:lifetime_value' || COALESCE(CAST(LENGTH(CAST(CAST(`m`.`f_4` AS DECIMAL(38,9)) AS STRING)) AS STRING) || ':' || CAST(CAST(`m`.`f_4` AS DECIMAL(38,9)) AS STRING), '~') || '10:churn_risk' || COALESCE(CAST(LENGTH(CASE WHEN ABS(`m`.`f_5`) < 1e15 THEN CAST(CAST(`m`.`f_5` AS DECIMAL(22,6)) AS STRING) ELSE CAST(`m`.`f_5` AS STRING) END) AS STRING) || ':' || CASE WHEN ABS(`m`.`f_5`) < 1e15 THEN CAST(CAST(`m`.`f_5` AS DECIMAL(22,6)) AS STRING) ELSE CAST(`m`.`f_5` AS STRING) END, '~') || '3:vip' || COALESCE(CAST(LENGTH(CASE WHEN `m`.`f_6` THEN 'true' WHEN NOT `m`.`f_6` THEN 'false' END) AS STRING) || ':' || CASE WHEN `m`.`f_6` THEN 'true' WHEN NOT `m`.`f_6` THEN 'false' END, '~') || '6:source' || COALESCE(CAST(LENGTH(`m`.`f_7`) AS STRING) || ':' || `m`.`f_7`, '~'))) AS `record_hash`
  FROM mapped AS `m`
),
sendable_rows AS (
  SELECT `m`.*
  FROM keyed AS `m`
  LEFT JOIN (SELECT `record_key`, `record_hash`, `last_status` FROM `tideline_state`.`snapshot__crm_contacts` AS `h`) AS `s` ON `s`.`record_key` = `m`.`record_key`
  WHERE `m`.`record_key` IS NOT NULL AND NOT EXISTS (SELECT 1 FROM shared AS `k` WHERE `k`.`record_key` = `m`.`record_key`) AND (`s`.`record_key` IS NULL OR `s`.`last_status` = 'in_doubt')
)
SELECT CASE WHEN `r`.`record_key` IS NOT NULL THEN 'held_back' WHEN (`s`.`record_key` IS NULL OR `s`.`synced_at` IS NULL) THEN 'added' ELSE 'changed' END AS `op`,
    `m`.`record_key`, `m`.`record_hash`, `s`.`destination_id`, `s`.`retained`, `s`.`last_run_id` AS `prior_run`, COALESCE(`s`.`last_status` = 'in_doubt', FALSE) AS `in_doubt`, `m`.`contact_key`, `m`.`f_0`, `m`.`f_1`, `m`.`f_2`, `m`.`f_3`, `m`.`f_4`, `m`.`f_5`, `m`.`f_6`, `m`.`f_7`
  FROM sendable_rows AS `m`
  LEFT JOIN `tideline_state`.`snapshot__crm_contacts` AS `s` ON `s`.`record_key` = `m`.`record_key`
  LEFT JOIN (SELECT `record_key`, `record_hash` FROM `tideline_state`.`sync_rejected` WHERE `sync_name` = 'crm_contacts' AND `retryable` = FALSE) AS `r` ON `r`.`record_key` = `m`.`record_key` AND `r`.`record_hash` = `m`.`record_hash`
UNION ALL
SELECT CASE WHEN `m`.`record_key` IS NULL THEN 'null_key' ELSE 'duplicate_key' END,
    `m`.`record_key`, CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), FALSE, `m`.`contact_key`, `m`.`f_0`, `m`.`f_1`, `m`.`f_2`, `m`.`f_3`, `m`.`f_4`, `m`.`f_5`, `m`.`f_6`, `m`.`f_7`
  FROM keyed AS `m`
  WHERE `m`.`record_key` IS NULL OR EXISTS (SELECT 1 FROM shared AS `k` WHERE `k`.`record_key` = `m`.`record_key`)
) AS d
) AS numbered;

-- …and the fold records its accepted entries in sync_messages, first in the same atomic unit
MERGE INTO `tideline_state`.`sync_messages` AS `t`
USING (
SELECT DISTINCT 'crm_contacts' AS `sync_name`, 'customers' AS `model`, CAST(NULL AS STRING) AS `audience`, c.`record_key` AS `record_key`, c.`contact_key` AS `contact_key`, 'email' AS `channel`, 'transactional' AS `message_type`, 'run-1' AS `run_id`, COALESCE((SELECT MAX(`started_at`) FROM `tideline_state`.`sync_runs` WHERE `run_id` = 'run-1'), CAST('2026-01-02 03:04:05.678' AS TIMESTAMP)) AS `sent_at`
FROM `tideline_state`.`journal__crm_contacts` AS j JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` = j.`seq`
WHERE j.`accepted` AND c.`op` = 'added' AND c.`contact_key` IS NOT NULL
) AS `s`
ON `t`.`sync_name` = `s`.`sync_name` AND `t`.`record_key` = `s`.`record_key` AND `t`.`run_id` = `s`.`run_id`
WHEN MATCHED THEN UPDATE SET `model` = `s`.`model`, `audience` = `s`.`audience`, `contact_key` = `s`.`contact_key`, `channel` = `s`.`channel`, `message_type` = `s`.`message_type`, `sent_at` = `s`.`sent_at`
WHEN NOT MATCHED THEN INSERT (`sync_name`, `model`, `audience`, `record_key`, `contact_key`, `channel`, `message_type`, `run_id`, `sent_at`) VALUES (`s`.`sync_name`, `s`.`model`, `s`.`audience`, `s`.`record_key`, `s`.`contact_key`, `s`.`channel`, `s`.`message_type`, `s`.`run_id`, `s`.`sent_at`);

-- an events sync: its snapshot keeps event times
CREATE TABLE IF NOT EXISTS `tideline_state`.`snapshot__crm_contacts` (`record_key` STRING, `record_hash` STRING, `destination_id` STRING, `retained` STRING, `last_status` STRING, `last_attempt_at` TIMESTAMP, `last_run_id` STRING, `synced_at` TIMESTAMP, `event_time` TIMESTAMP);

-- …its window of event times, on the model and the snapshot; events older than the destination accepts are too_old
CREATE TABLE `tideline_state`.`changes__crm_contacts` AS
SELECT * FROM (
SELECT ROW_NUMBER() OVER (ORDER BY CASE `op` WHEN 'removed' THEN 1 WHEN 'changed' THEN 2 WHEN 'added' THEN 3 WHEN 'held_back' THEN 4 WHEN 'too_old' THEN 5 WHEN 'forgotten' THEN 6 WHEN 'suppressed' THEN 7 WHEN 'no_consent' THEN 8 WHEN 'duplicate_key' THEN 9 WHEN 'null_key' THEN 10 END, `record_key`) AS `seq`, d.* FROM (
WITH mapped AS (
  SELECT LOWER(TRIM(`email`)) AS `record_key`, `first_name` AS `f_0`, FORMAT_TIMESTAMP('%d/%m/%Y', CAST(`created_at` AS TIMESTAMP), 'UTC') AS `f_1`, FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%E3SZ', CAST(`last_order_at` AS TIMESTAMP), 'UTC') AS `f_2`, TO_HEX(SHA256(LOWER(TRIM(`email`)))) AS `f_3`, `ltv` AS `f_4`, `p_churn` AS `f_5`, `is_vip` AS `f_6`, 'tideline' AS `f_7`, 'Purchase' AS `event_name`, `last_order_at` AS `event_time`
  FROM `analytics`.`customers`
  WHERE `last_order_at` > CAST('2026-01-01 03:04:05.678' AS TIMESTAMP) AND `last_order_at` <= CAST('2026-01-02 03:04:05.678' AS TIMESTAMP)
),
shared AS (
  SELECT `record_key` FROM mapped WHERE `record_key` IS NOT NULL GROUP BY `record_key` HAVING COUNT(*) > 1
),
keyed AS (
  SELECT `m`.*, TO_HEX(MD5('8:contacts5:email' || '10:first_name' || COALESCE(CAST(LENGTH(`m`.`f_0`) AS STRING) || ':' || `m`.`f_0`, '~') || '10:signup_day' || COALESCE(CAST(LENGTH(`m`.`f_1`) AS STRING) || ':' || `m`.`f_1`, '~') || '10:last_order' || COALESCE(CAST(LENGTH(`m`.`f_2`) AS STRING) || ':' || `m`.`f_2`, '~') || '12:email_sha256' || COALESCE(CAST(LENGTH(`m`.`f_3`) AS STRING) || ':' || `m`.`f_3`, '~') || '14:lifetime_value' || COALESCE(CAST(LENGTH(CAST(CAST(`m`.`f_4` AS DECIMAL(38,9)) AS STRING)) AS STRING) || ':' || CAST(CAST(`m`.`f_4` AS DECIMAL(38,9)) AS STRING), '~') || '10:churn_risk' || COALESCE(CAST(LENGTH(CASE WHEN ABS(`m`.`f_5`) < 1e15 THEN CAST(CAST(`m`.`f_5` AS DECIMAL(22,6)) AS STRING) ELSE CAST(`m`.`f_5` AS STRING) END) AS STRING) || ':' || CASE WHEN ABS(`m`.`f_5`) < 1e15 THEN CAST(CAST(`m`.`f_5` AS DECIMAL(22,6)) AS STRING) ELSE CAST(`m`.`f_5` AS STRING) END, '~') || '3:vip' || COALESCE(CAST(LENGTH(CASE WHEN `m`.`f_6` THEN 'true' WHEN NOT `m`.`f_6` THEN 'false' END) AS STRING) || ':' || CASE WHEN `m`.`f_6` THEN 'true' WHEN NOT `m`.`f_6` THEN 'false' END, '~') || '6:source' || COALESCE(CAST(LENGTH(`m`.`f_7`) AS STRING) || ':' || `m`.`f_7`, '~'))) AS `record_hash`
  FROM mapped AS `m`
),
sendable_rows AS (
  SELECT `m`.*
  FROM keyed AS `m`
  LEFT JOIN (SELECT `record_key`, `record_hash`, `last_status` FROM (SELECT * FROM `tideline_state`.`snapshot__crm_contacts` WHERE `record_key` IN (SELECT `record_key` FROM mapped)) AS `h`) AS `s` ON `s`.`record_key` = `m`.`record_key`
  WHERE `m`.`record_key` IS NOT NULL AND NOT EXISTS (SELECT 1 FROM shared AS `k` WHERE `k`.`record_key` = `m`.`record_key`) AND (`s`.`record_key` IS NULL OR `s`.`last_status` = 'in_doubt')
)
SELECT CASE WHEN `r`.`record_key` IS NOT NULL THEN 'held_back' WHEN `m`.`event_time` <= CAST('2025-12-26 03:04:05.678' AS TIMESTAMP) THEN 'too_old' ELSE 'added' END AS `op`,
    `m`.`record_key`, `m`.`record_hash`, `s`.`destination_id`, `s`.`retained`, `s`.`last_run_id` AS `prior_run`, COALESCE(`s`.`last_status` = 'in_doubt', FALSE) AS `in_doubt`, `m`.`f_0`, `m`.`f_1`, `m`.`f_2`, `m`.`f_3`, `m`.`f_4`, `m`.`f_5`, `m`.`f_6`, `m`.`f_7`, `m`.`event_name`, `m`.`event_time`
  FROM sendable_rows AS `m`
  LEFT JOIN (SELECT * FROM `tideline_state`.`snapshot__crm_contacts` WHERE `record_key` IN (SELECT `record_key` FROM mapped)) AS `s` ON `s`.`record_key` = `m`.`record_key`
  LEFT JOIN (SELECT `record_key`, `record_hash` FROM `tideline_state`.`sync_rejected` WHERE `sync_name` = 'crm_contacts' AND `retryable` = FALSE) AS `r` ON `r`.`record_key` = `m`.`record_key` AND `r`.`record_hash` = `m`.`record_hash`
UNION ALL
SELECT CASE WHEN `m`.`record_key` IS NULL THEN 'null_key' ELSE 'duplicate_key' END,
    `m`.`record_key`, CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), FALSE, `m`.`f_0`, `m`.`f_1`, `m`.`f_2`, `m`.`f_3`, `m`.`f_4`, `m`.`f_5`, `m`.`f_6`, `m`.`f_7`, `m`.`event_name`, `m`.`event_time`
  FROM keyed AS `m`
  WHERE `m`.`record_key` IS NULL OR EXISTS (SELECT 1 FROM shared AS `k` WHERE `k`.`record_key` = `m`.`record_key`)
) AS d
) AS numbered;

-- …a date column as its event time, no age limit
CREATE TABLE `tideline_state`.`changes__crm_contacts` AS
SELECT * FROM (
SELECT ROW_NUMBER() OVER (ORDER BY CASE `op` WHEN 'removed' THEN 1 WHEN 'changed' THEN 2 WHEN 'added' THEN 3 WHEN 'held_back' THEN 4 WHEN 'too_old' THEN 5 WHEN 'forgotten' THEN 6 WHEN 'suppressed' THEN 7 WHEN 'no_consent' THEN 8 WHEN 'duplicate_key' THEN 9 WHEN 'null_key' THEN 10 END, `record_key`) AS `seq`, d.* FROM (
WITH mapped AS (
  SELECT LOWER(TRIM(`email`)) AS `record_key`, `first_name` AS `f_0`, FORMAT_TIMESTAMP('%d/%m/%Y', CAST(`created_at` AS TIMESTAMP), 'UTC') AS `f_1`, FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%E3SZ', CAST(`last_order_at` AS TIMESTAMP), 'UTC') AS `f_2`, TO_HEX(SHA256(LOWER(TRIM(`email`)))) AS `f_3`, `ltv` AS `f_4`, `p_churn` AS `f_5`, `is_vip` AS `f_6`, 'tideline' AS `f_7`, 'Purchase' AS `event_name`, CAST(`created_at` AS TIMESTAMP) AS `event_time`
  FROM `analytics`.`customers`
  WHERE `created_at` >= DATE '2026-01-01' AND `created_at` <= DATE '2026-01-02'
),
shared AS (
  SELECT `record_key` FROM mapped WHERE `record_key` IS NOT NULL GROUP BY `record_key` HAVING COUNT(*) > 1
),
keyed AS (
  SELECT `m`.*, TO_HEX(MD5('8:contacts5:email' || '10:first_name' || COALESCE(CAST(LENGTH(`m`.`f_0`) AS STRING) || ':' || `m`.`f_0`, '~') || '10:signup_day' || COALESCE(CAST(LENGTH(`m`.`f_1`) AS STRING) || ':' || `m`.`f_1`, '~') || '10:last_order' || COALESCE(CAST(LENGTH(`m`.`f_2`) AS STRING) || ':' || `m`.`f_2`, '~') || '12:email_sha256' || COALESCE(CAST(LENGTH(`m`.`f_3`) AS STRING) || ':' || `m`.`f_3`, '~') || '14:lifetime_value' || COALESCE(CAST(LENGTH(CAST(CAST(`m`.`f_4` AS DECIMAL(38,9)) AS STRING)) AS STRING) || ':' || CAST(CAST(`m`.`f_4` AS DECIMAL(38,9)) AS STRING), '~') || '10:churn_risk' || COALESCE(CAST(LENGTH(CASE WHEN ABS(`m`.`f_5`) < 1e15 THEN CAST(CAST(`m`.`f_5` AS DECIMAL(22,6)) AS STRING) ELSE CAST(`m`.`f_5` AS STRING) END) AS STRING) || ':' || CASE WHEN ABS(`m`.`f_5`) < 1e15 THEN CAST(CAST(`m`.`f_5` AS DECIMAL(22,6)) AS STRING) ELSE CAST(`m`.`f_5` AS STRING) END, '~') || '3:vip' || COALESCE(CAST(LENGTH(CASE WHEN `m`.`f_6` THEN 'true' WHEN NOT `m`.`f_6` THEN 'false' END) AS STRING) || ':' || CASE WHEN `m`.`f_6` THEN 'true' WHEN NOT `m`.`f_6` THEN 'false' END, '~') || '6:source' || COALESCE(CAST(LENGTH(`m`.`f_7`) AS STRING) || ':' || `m`.`f_7`, '~'))) AS `record_hash`
  FROM mapped AS `m`
),
sendable_rows AS (
  SELECT `m`.*
  FROM keyed AS `m`
  LEFT JOIN (SELECT `record_key`, `record_hash`, `last_status` FROM (SELECT * FROM `tideline_state`.`snapshot__crm_contacts` WHERE `record_key` IN (SELECT `record_key` FROM mapped)) AS `h`) AS `s` ON `s`.`record_key` = `m`.`record_key`
  WHERE `m`.`record_key` IS NOT NULL AND NOT EXISTS (SELECT 1 FROM shared AS `k` WHERE `k`.`record_key` = `m`.`record_key`) AND (`s`.`record_key` IS NULL OR `s`.`last_status` = 'in_doubt')
)
SELECT CASE WHEN `r`.`record_key` IS NOT NULL THEN 'held_back' ELSE 'added' END AS `op`,
    `m`.`record_key`, `m`.`record_hash`, `s`.`destination_id`, `s`.`retained`, `s`.`last_run_id` AS `prior_run`, COALESCE(`s`.`last_status` = 'in_doubt', FALSE) AS `in_doubt`, `m`.`f_0`, `m`.`f_1`, `m`.`f_2`, `m`.`f_3`, `m`.`f_4`, `m`.`f_5`, `m`.`f_6`, `m`.`f_7`, `m`.`event_name`, `m`.`event_time`
  FROM sendable_rows AS `m`
  LEFT JOIN (SELECT * FROM `tideline_state`.`snapshot__crm_contacts` WHERE `record_key` IN (SELECT `record_key` FROM mapped)) AS `s` ON `s`.`record_key` = `m`.`record_key`
  LEFT JOIN (SELECT `record_key`, `record_hash` FROM `tideline_state`.`sync_rejected` WHERE `sync_name` = 'crm_contacts' AND `retryable` = FALSE) AS `r` ON `r`.`record_key` = `m`.`record_key` AND `r`.`record_hash` = `m`.`record_hash`
UNION ALL
SELECT CASE WHEN `m`.`record_key` IS NULL THEN 'null_key' ELSE 'duplicate_key' END,
    `m`.`record_key`, CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), FALSE, `m`.`f_0`, `m`.`f_1`, `m`.`f_2`, `m`.`f_3`, `m`.`f_4`, `m`.`f_5`, `m`.`f_6`, `m`.`f_7`, `m`.`event_name`, `m`.`event_time`
  FROM keyed AS `m`
  WHERE `m`.`record_key` IS NULL OR EXISTS (SELECT 1 FROM shared AS `k` WHERE `k`.`record_key` = `m`.`record_key`)
) AS d
) AS numbered;

-- …starting messages under pressure caps: a contact's events of the run admitted in time order while they fit
CREATE TABLE `tideline_state`.`changes__crm_contacts` AS
SELECT * FROM (
SELECT ROW_NUMBER() OVER (ORDER BY CASE `op` WHEN 'removed' THEN 1 WHEN 'changed' THEN 2 WHEN 'added' THEN 3 WHEN 'held_back' THEN 4 WHEN 'too_old' THEN 5 WHEN 'forgotten' THEN 6 WHEN 'suppressed' THEN 7 WHEN 'no_consent' THEN 8 WHEN 'duplicate_key' THEN 9 WHEN 'null_key' THEN 10 END, `record_key`) AS `seq`, d.* FROM (
WITH `tl_room` AS (
  SELECT m.k, SUM(CASE WHEN m.channel IN ('email') AND m.day > DATE_ADD(DATE '2026-01-02', INTERVAL -7 DAY) THEN CASE m.message_type WHEN 'reminder' THEN 500 ELSE 1000 END ELSE 0 END) AS `used_0` FROM (
SELECT k, channel, message_type, day, source, model, 'sent' AS origin FROM (
  SELECT DISTINCT s.`contact_key` AS k, s.`channel` AS channel, s.`message_type` AS message_type, CAST(s.`sent_at` AS DATE) AS day,
    COALESCE(s.`audience`, s.`sync_name`) AS source, s.`model` AS model, CASE WHEN s.`audience` IS NULL THEN s.`record_key` END AS item
  FROM `tideline_state`.`sync_messages` AS s
  WHERE CAST(s.`sent_at` AS DATE) > DATE_ADD(DATE '2026-01-02', INTERVAL -7 DAY)
) AS sent
) AS m GROUP BY m.k
),
mapped AS (
  SELECT LOWER(TRIM(`email`)) AS `record_key`, CAST(`email` AS STRING) AS `contact_key`, `first_name` AS `f_0`, FORMAT_TIMESTAMP('%d/%m/%Y', CAST(`created_at` AS TIMESTAMP), 'UTC') AS `f_1`, FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%E3SZ', CAST(`last_order_at` AS TIMESTAMP), 'UTC') AS `f_2`, TO_HEX(SHA256(LOWER(TRIM(`email`)))) AS `f_3`, `ltv` AS `f_4`, `p_churn` AS `f_5`, `is_vip` AS `f_6`, 'tideline' AS `f_7`, 'Purchase' AS `event_name`, `last_order_at` AS `event_time`
  FROM `analytics`.`customers`
  WHERE `last_order_at` > CAST('2026-01-01 03:04:05.678' AS TIMESTAMP) AND `last_order_at` <= CAST('2026-01-02 03:04:05.678' AS TIMESTAMP)
),
shared AS (
  SELECT `record_key` FROM mapped WHERE `record_key` IS NOT NULL GROUP BY `record_key` HAVING COUNT(*) > 1
),
keyed AS (
  SELECT `m`.*, TO_HEX(MD5('8:contacts5:email' || '10:first_name' || COALESCE(CAST(LENGTH(`m`.`f_0`) AS STRING) || ':' || `m`.`f_0`, '~') || '10:signup_day' || COALESCE(CAST(LENGTH(`m`.`f_1`) AS STRING) || ':' || `m`.`f_1`, '~') || '10:last_order' || COALESCE(CAST(LENGTH(`m`.`f_2`) AS STRING) || ':' || `m`.`f_2`, '~') || '12:email_sha256' || COALESCE(CAST(LENGTH(`m`.`f_3`) AS STRING) || ':' || `m`.`f_3`, '~') || '14:lifetime_value' || COALESCE(CAST(LENGTH(CAST(CAST(`m`.`f_4` AS DECIMAL(38,9)) AS STRING)) AS STRING) || ':' || CAST(CAST(`m`.`f_4` AS DECIMAL(38,9)) AS STRING), '~') || '10:churn_risk' || COALESCE(CAST(LENGTH(CASE WHEN ABS(`m`.`f_5`) < 1e15 THEN CAST(CAST(`m`.`f_5` AS DECIMAL(22,6)) AS STRING) ELSE CAST(`m`.`f_5` AS STRING) END) AS STRING) || ':' || CASE WHEN ABS(`m`.`f_5`) < 1e15 THEN CAST(CAST(`m`.`f_5` AS DECIMAL(22,6)) AS STRING) ELSE CAST(`m`.`f_5` AS STRING) END, '~') || '3:vip' || COALESCE(CAST(LENGTH(CASE WHEN `m`.`f_6` THEN 'true' WHEN NOT `m`.`f_6` THEN 'false' END) AS STRING) || ':' || CASE WHEN `m`.`f_6` THEN 'true' WHEN NOT `m`.`f_6` THEN 'false' END, '~') || '6:source' || COALESCE(CAST(LENGTH(`m`.`f_7`) AS STRING) || ':' || `m`.`f_7`, '~'))) AS `record_hash`
  FROM mapped AS `m`
),
sendable_rows AS (
  SELECT `m`.*
  FROM keyed AS `m`
  LEFT JOIN (SELECT `record_key`, `record_hash`, `last_status` FROM (SELECT * FROM `tideline_state`.`snapshot__crm_contacts` WHERE `record_key` IN (SELECT `record_key` FROM mapped)) AS `h`) AS `s` ON `s`.`record_key` = `m`.`record_key`
  WHERE `m`.`record_key` IS NOT NULL AND NOT EXISTS (SELECT 1 FROM shared AS `k` WHERE `k`.`record_key` = `m`.`record_key`) AND (`s`.`record_key` IS NULL OR `s`.`last_status` = 'in_doubt')
)
SELECT CASE WHEN `r`.`record_key` IS NOT NULL THEN 'held_back' WHEN `m`.`event_time` <= CAST('2025-12-26 03:04:05.678' AS TIMESTAMP) THEN 'too_old' WHEN `m`.`contact_key` IS NOT NULL AND (COALESCE(`pr`.`used_0`, 0) + 500 * ROW_NUMBER() OVER (PARTITION BY `m`.`contact_key`, CASE WHEN `r`.`record_key` IS NULL AND `m`.`event_time` > CAST('2025-12-26 03:04:05.678' AS TIMESTAMP) THEN 1 ELSE 0 END ORDER BY `m`.`event_time`, `m`.`record_key`) > 2000) THEN 'suppressed' ELSE 'added' END AS `op`,
    `m`.`record_key`, `m`.`record_hash`, `s`.`destination_id`, `s`.`retained`, `s`.`last_run_id` AS `prior_run`, COALESCE(`s`.`last_status` = 'in_doubt', FALSE) AS `in_doubt`, `m`.`contact_key`, `m`.`f_0`, `m`.`f_1`, `m`.`f_2`, `m`.`f_3`, `m`.`f_4`, `m`.`f_5`, `m`.`f_6`, `m`.`f_7`, `m`.`event_name`, `m`.`event_time`
  FROM sendable_rows AS `m`
  LEFT JOIN (SELECT * FROM `tideline_state`.`snapshot__crm_contacts` WHERE `record_key` IN (SELECT `record_key` FROM mapped)) AS `s` ON `s`.`record_key` = `m`.`record_key`
  LEFT JOIN (SELECT `record_key`, `record_hash` FROM `tideline_state`.`sync_rejected` WHERE `sync_name` = 'crm_contacts' AND `retryable` = FALSE) AS `r` ON `r`.`record_key` = `m`.`record_key` AND `r`.`record_hash` = `m`.`record_hash`
  LEFT JOIN `tl_room` AS `pr` ON `pr`.`k` = `m`.`contact_key`
UNION ALL
SELECT CASE WHEN `m`.`record_key` IS NULL THEN 'null_key' ELSE 'duplicate_key' END,
    `m`.`record_key`, CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), FALSE, `m`.`contact_key`, `m`.`f_0`, `m`.`f_1`, `m`.`f_2`, `m`.`f_3`, `m`.`f_4`, `m`.`f_5`, `m`.`f_6`, `m`.`f_7`, `m`.`event_name`, `m`.`event_time`
  FROM keyed AS `m`
  WHERE `m`.`record_key` IS NULL OR EXISTS (SELECT 1 FROM shared AS `k` WHERE `k`.`record_key` = `m`.`record_key`)
) AS d
) AS numbered;

-- …a page carries each event's name and time
SELECT STRING_AGG(TO_JSON_STRING(JSON_ARRAY(`seq`, `op`, `record_key`, `destination_id`, `retained`, `record_hash`, `prior_run`, `in_doubt`, `f_0`, `f_1`, `f_2`, `f_3`, `f_4`, `f_5`, `f_6`, `f_7`, `event_name`, FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%E3SZ', CAST(`event_time` AS TIMESTAMP), 'UTC'))), ',' ORDER BY `seq`) AS `page` FROM `tideline_state`.`changes__crm_contacts` WHERE `seq` > 0 AND `seq` <= 10000 AND `op` IN ('removed', 'changed', 'added');

-- …its fold keeps event times and writes the high-water mark in the same atomic unit
MERGE INTO `tideline_state`.`sync_meta` AS `t`
USING (
SELECT 'events_watermark:crm_contacts' AS `name`, '2026-01-02T03:04:05.678Z' AS `value`
) AS `s`
ON `t`.`name` = `s`.`name`
WHEN MATCHED THEN UPDATE SET `value` = `s`.`value`
WHEN NOT MATCHED THEN INSERT (`name`, `value`) VALUES (`s`.`name`, `s`.`value`);

MERGE INTO `tideline_state`.`snapshot__crm_contacts` AS `t`
USING (
SELECT x.`record_key` AS `record_key`, x.`record_hash` AS `record_hash`, COALESCE(x.`destination_id`, p.`destination_id`) AS `destination_id`, COALESCE(x.`retained`, p.`retained`) AS `retained`, 'synced' AS `last_status`, CAST('2026-01-02 03:04:05.678' AS TIMESTAMP) AS `last_attempt_at`, 'run-1' AS `last_run_id`, CAST('2026-01-02 03:04:05.678' AS TIMESTAMP) AS `synced_at`, `x`.`event_time` AS `event_time`
FROM (SELECT c.`record_key`, c.`record_hash`, c.`op`, `c`.`event_time` AS `event_time`, j.* FROM `tideline_state`.`journal__crm_contacts` AS j JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` = j.`seq` WHERE j.`accepted` IS NOT NULL) AS x JOIN `tideline_state`.`snapshot__crm_contacts` AS p ON p.`record_key` = x.`record_key`
WHERE x.`accepted` AND x.`op` <> 'removed'
) AS `s`
ON `t`.`record_key` = `s`.`record_key`
WHEN MATCHED THEN UPDATE SET `record_hash` = `s`.`record_hash`, `destination_id` = `s`.`destination_id`, `retained` = `s`.`retained`, `last_status` = `s`.`last_status`, `last_attempt_at` = `s`.`last_attempt_at`, `last_run_id` = `s`.`last_run_id`, `synced_at` = `s`.`synced_at`, `event_time` = `s`.`event_time`
WHEN NOT MATCHED THEN INSERT (`record_key`, `record_hash`, `destination_id`, `retained`, `last_status`, `last_attempt_at`, `last_run_id`, `synced_at`, `event_time`) VALUES (`s`.`record_key`, `s`.`record_hash`, `s`.`destination_id`, `s`.`retained`, `s`.`last_status`, `s`.`last_attempt_at`, `s`.`last_run_id`, `s`.`synced_at`, `s`.`event_time`);

INSERT INTO `tideline_state`.`snapshot__crm_contacts` (`record_key`, `record_hash`, `destination_id`, `retained`, `last_status`, `last_attempt_at`, `last_run_id`, `synced_at`, `event_time`)
SELECT `record_key`, `record_hash`, `destination_id`, `retained`, `last_status`, `last_attempt_at`, `last_run_id`, `synced_at`, `event_time` FROM (SELECT x.`record_key` AS `record_key`, x.`record_hash` AS `record_hash`, COALESCE(x.`destination_id`, p.`destination_id`) AS `destination_id`, COALESCE(x.`retained`, p.`retained`) AS `retained`, 'synced' AS `last_status`, CAST('2026-01-02 03:04:05.678' AS TIMESTAMP) AS `last_attempt_at`, 'run-1' AS `last_run_id`, CAST('2026-01-02 03:04:05.678' AS TIMESTAMP) AS `synced_at`, `x`.`event_time` AS `event_time`
FROM (SELECT c.`record_key`, c.`record_hash`, c.`op`, `c`.`event_time` AS `event_time`, j.* FROM `tideline_state`.`journal__crm_contacts` AS j JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` = j.`seq` WHERE j.`accepted` IS NOT NULL) AS x LEFT JOIN `tideline_state`.`snapshot__crm_contacts` AS p ON p.`record_key` = x.`record_key`
WHERE x.`accepted` AND x.`op` <> 'removed' AND p.`record_key` IS NULL) AS `n`;

-- after tideline forget: the forgotten are left out (their key, their e-mail column), counted `forgotten`
CREATE TABLE `tideline_state`.`changes__crm_contacts` AS
SELECT * FROM (
SELECT ROW_NUMBER() OVER (ORDER BY CASE `op` WHEN 'removed' THEN 1 WHEN 'changed' THEN 2 WHEN 'added' THEN 3 WHEN 'held_back' THEN 4 WHEN 'too_old' THEN 5 WHEN 'forgotten' THEN 6 WHEN 'suppressed' THEN 7 WHEN 'no_consent' THEN 8 WHEN 'duplicate_key' THEN 9 WHEN 'null_key' THEN 10 END, `record_key`) AS `seq`, d.* FROM (
WITH mapped AS (
  SELECT LOWER(TRIM(`email`)) AS `record_key`, `first_name` AS `f_0`, FORMAT_TIMESTAMP('%d/%m/%Y', CAST(`created_at` AS TIMESTAMP), 'UTC') AS `f_1`, FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%E3SZ', CAST(`last_order_at` AS TIMESTAMP), 'UTC') AS `f_2`, TO_HEX(SHA256(LOWER(TRIM(`email`)))) AS `f_3`, `ltv` AS `f_4`, `p_churn` AS `f_5`, `is_vip` AS `f_6`, 'tideline' AS `f_7`
  FROM `analytics`.`customers` AS `src`
  WHERE NOT (('crm_contacts:' || CAST(LOWER(TRIM(`email`)) AS STRING) IS NOT NULL AND TO_HEX(SHA256('salt' || LOWER(TRIM(CAST('crm_contacts:' || CAST(LOWER(TRIM(`email`)) AS STRING) AS STRING))))) IN (SELECT token_hash FROM `tideline_state`.`privacy_forgotten` WHERE kind IN ('sync_key'))) OR (LOWER(TRIM(`email`)) IS NOT NULL AND TO_HEX(SHA256('salt' || LOWER(TRIM(CAST(LOWER(TRIM(`email`)) AS STRING))))) IN (SELECT token_hash FROM `tideline_state`.`privacy_forgotten` WHERE kind IN ('email', 'phone', 'key'))) OR (`src`.`email` IS NOT NULL AND TO_HEX(SHA256('salt' || LOWER(TRIM(CAST(`src`.`email` AS STRING))))) IN (SELECT token_hash FROM `tideline_state`.`privacy_forgotten` WHERE kind IN ('email', 'phone'))))
),
forgotten_rows AS (
  SELECT LOWER(TRIM(`email`)) AS `record_key`
  FROM `analytics`.`customers` AS `src`
  WHERE (('crm_contacts:' || CAST(LOWER(TRIM(`email`)) AS STRING) IS NOT NULL AND TO_HEX(SHA256('salt' || LOWER(TRIM(CAST('crm_contacts:' || CAST(LOWER(TRIM(`email`)) AS STRING) AS STRING))))) IN (SELECT token_hash FROM `tideline_state`.`privacy_forgotten` WHERE kind IN ('sync_key'))) OR (LOWER(TRIM(`email`)) IS NOT NULL AND TO_HEX(SHA256('salt' || LOWER(TRIM(CAST(LOWER(TRIM(`email`)) AS STRING))))) IN (SELECT token_hash FROM `tideline_state`.`privacy_forgotten` WHERE kind IN ('email', 'phone', 'key'))) OR (`src`.`email` IS NOT NULL AND TO_HEX(SHA256('salt' || LOWER(TRIM(CAST(`src`.`email` AS STRING))))) IN (SELECT token_hash FROM `tideline_state`.`privacy_forgotten` WHERE kind IN ('email', 'phone'))))
),
shared AS (
  SELECT `record_key` FROM mapped WHERE `record_key` IS NOT NULL GROUP BY `record_key` HAVING COUNT(*) > 1
),
keyed AS (
  SELECT `m`.*, TO_HEX(MD5('8:contacts5:email' || '10:first_name' || COALESCE(CAST(LENGTH(`m`.`f_0`) AS STRING) || ':' || `m`.`f_0`, '~') || '10:signup_day' || COALESCE(CAST(LENGTH(`m`.`f_1`) AS STRING) || ':' || `m`.`f_1`, '~') || '10:last_order' || COALESCE(CAST(LENGTH(`m`.`f_2`) AS STRING) || ':' || `m`.`f_2`, '~') || '12:email_sha256' || COALESCE(CAST(LENGTH(`m`.`f_3`) AS STRING) || ':' || `m`.`f_3`, '~') || '14:lifetime_value' || COALESCE(CAST(LENGTH(CAST(CAST(`m`.`f_4` AS DECIMAL(38,9)) AS STRING)) AS STRING) || ':' || CAST(CAST(`m`.`f_4` AS DECIMAL(38,9)) AS STRING), '~') || '10:churn_risk' || COALESCE(CAST(LENGTH(CASE WHEN ABS(`m`.`f_5`) < 1e15 THEN CAST(CAST(`m`.`f_5` AS DECIMAL(22,6)) AS STRING) ELSE CAST(`m`.`f_5` AS STRING) END) AS STRING) || ':' || CASE WHEN ABS(`m`.`f_5`) < 1e15 THEN CAST(CAST(`m`.`f_5` AS DECIMAL(22,6)) AS STRING) ELSE CAST(`m`.`f_5` AS STRING) END, '~') || '3:vip' || COALESCE(CAST(LENGTH(CASE WHEN `m`.`f_6` THEN 'true' WHEN NOT `m`.`f_6` THEN 'false' END) AS STRING) || ':' || CASE WHEN `m`.`f_6` THEN 'true' WHEN NOT `m`.`f_6` THEN 'false' END, '~') || '6:source' || COALESCE(CAST(LENGTH(`m`.`f_7`) AS STRING) || ':' || `m`.`f_7`, '~'))) AS `record_hash`
  FROM mapped AS `m`
),
sendable_rows AS (
  SELECT `m`.*
  FROM keyed AS `m`
  LEFT JOIN (SELECT `record_key`, `record_hash`, `last_status` FROM `tideline_state`.`snapshot__crm_contacts` AS `h`) AS `s` ON `s`.`record_key` = `m`.`record_key`
  WHERE `m`.`record_key` IS NOT NULL AND NOT EXISTS (SELECT 1 FROM shared AS `k` WHERE `k`.`record_key` = `m`.`record_key`) AND (`s`.`record_key` IS NULL OR `s`.`record_hash` IS NULL OR `s`.`record_hash` <> `m`.`record_hash`)
)
SELECT CASE WHEN `r`.`record_key` IS NOT NULL THEN 'held_back' WHEN (`s`.`record_key` IS NULL OR `s`.`synced_at` IS NULL) THEN 'added' ELSE 'changed' END AS `op`,
    `m`.`record_key`, `m`.`record_hash`, `s`.`destination_id`, `s`.`retained`, `s`.`last_run_id` AS `prior_run`, COALESCE(`s`.`last_status` = 'in_doubt', FALSE) AS `in_doubt`, `m`.`f_0`, `m`.`f_1`, `m`.`f_2`, `m`.`f_3`, `m`.`f_4`, `m`.`f_5`, `m`.`f_6`, `m`.`f_7`
  FROM sendable_rows AS `m`
  LEFT JOIN `tideline_state`.`snapshot__crm_contacts` AS `s` ON `s`.`record_key` = `m`.`record_key`
  LEFT JOIN (SELECT `record_key`, `record_hash` FROM `tideline_state`.`sync_rejected` WHERE `sync_name` = 'crm_contacts' AND `retryable` = FALSE) AS `r` ON `r`.`record_key` = `m`.`record_key` AND `r`.`record_hash` = `m`.`record_hash`
UNION ALL
SELECT CASE WHEN `m`.`record_key` IS NULL THEN 'null_key' ELSE 'duplicate_key' END,
    `m`.`record_key`, CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), FALSE, `m`.`f_0`, `m`.`f_1`, `m`.`f_2`, `m`.`f_3`, `m`.`f_4`, `m`.`f_5`, `m`.`f_6`, `m`.`f_7`
  FROM keyed AS `m`
  WHERE `m`.`record_key` IS NULL OR EXISTS (SELECT 1 FROM shared AS `k` WHERE `k`.`record_key` = `m`.`record_key`)
UNION ALL
SELECT 'removed', `s`.`record_key`, CAST(NULL AS STRING), `s`.`destination_id`, `s`.`retained`, `s`.`last_run_id`, FALSE, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM `tideline_state`.`snapshot__crm_contacts` AS `s`
  WHERE NOT EXISTS (SELECT 1 FROM mapped AS `m` WHERE `m`.`record_key` = `s`.`record_key`)
    AND NOT EXISTS (SELECT 1 FROM forgotten_rows AS `fr` WHERE `fr`.`record_key` = `s`.`record_key`)
UNION ALL
SELECT 'forgotten', `record_key`, CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), FALSE, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM forgotten_rows
) AS d
) AS numbered;

-- the fold writes the audit trail (names and counts) in the same atomic unit, adding to the row a part wrote
UPDATE `tideline_state`.`privacy_audit` SET `records` = `records` + (SELECT COUNT(*) FROM `tideline_state`.`journal__crm_contacts` AS j JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` = j.`seq`
WHERE j.`accepted`), `removed` = `removed` + (SELECT COALESCE(SUM(CASE WHEN c.`op` = 'removed' THEN 1 ELSE 0 END), 0) FROM `tideline_state`.`journal__crm_contacts` AS j JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` = j.`seq`
WHERE j.`accepted`) WHERE `run_id` = 'run-1' AND `sync_name` = 'crm_contacts';

INSERT INTO `tideline_state`.`privacy_audit` (`run_id`, `sync_name`, `destination`, `destination_type`, `object`, `mode`, `fields`, `records`, `removed`, `sent_at`)
SELECT 'run-1', 'crm_contacts', 'crm', 'hubspot', 'contacts', 'upsert', 'email,first_name', COUNT(*), SUM(CASE WHEN c.`op` = 'removed' THEN 1 ELSE 0 END), CAST('2026-01-02 03:04:05.678' AS TIMESTAMP)
FROM `tideline_state`.`journal__crm_contacts` AS j JOIN `tideline_state`.`changes__crm_contacts` AS c ON c.`seq` = j.`seq`
WHERE j.`accepted`
  AND NOT EXISTS (SELECT 1 FROM `tideline_state`.`privacy_audit` WHERE `run_id` = 'run-1' AND `sync_name` = 'crm_contacts')
HAVING COUNT(*) > 0;

-- plan before any state exists (read-only preview)
SELECT * FROM (
  SELECT p.*, ROW_NUMBER() OVER (PARTITION BY `op` ORDER BY `record_key`) AS `sample_rank`, COUNT(*) OVER (PARTITION BY `op`) AS `op_rows`
  FROM (
WITH mapped AS (
  SELECT LOWER(TRIM(`email`)) AS `record_key`, `first_name` AS `f_0`, FORMAT_TIMESTAMP('%d/%m/%Y', CAST(`created_at` AS TIMESTAMP), 'UTC') AS `f_1`, FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%E3SZ', CAST(`last_order_at` AS TIMESTAMP), 'UTC') AS `f_2`, TO_HEX(SHA256(LOWER(TRIM(`email`)))) AS `f_3`, `ltv` AS `f_4`, `p_churn` AS `f_5`, `is_vip` AS `f_6`, 'tideline' AS `f_7`
  FROM `analytics`.`customers`
),
shared AS (
  SELECT `record_key` FROM mapped WHERE `record_key` IS NOT NULL GROUP BY `record_key` HAVING COUNT(*) > 1
),
keyed AS (
  SELECT `m`.*, TO_HEX(MD5('8:contacts5:email' || '10:first_name' || COALESCE(CAST(LENGTH(`m`.`f_0`) AS STRING) || ':' || `m`.`f_0`, '~') || '10:signup_day' || COALESCE(CAST(LENGTH(`m`.`f_1`) AS STRING) || ':' || `m`.`f_1`, '~') || '10:last_order' || COALESCE(CAST(LENGTH(`m`.`f_2`) AS STRING) || ':' || `m`.`f_2`, '~') || '12:email_sha256' || COALESCE(CAST(LENGTH(`m`.`f_3`) AS STRING) || ':' || `m`.`f_3`, '~') || '14:lifetime_value' || COALESCE(CAST(LENGTH(CAST(CAST(`m`.`f_4` AS DECIMAL(38,9)) AS STRING)) AS STRING) || ':' || CAST(CAST(`m`.`f_4` AS DECIMAL(38,9)) AS STRING), '~') || '10:churn_risk' || COALESCE(CAST(LENGTH(CASE WHEN ABS(`m`.`f_5`) < 1e15 THEN CAST(CAST(`m`.`f_5` AS DECIMAL(22,6)) AS STRING) ELSE CAST(`m`.`f_5` AS STRING) END) AS STRING) || ':' || CASE WHEN ABS(`m`.`f_5`) < 1e15 THEN CAST(CAST(`m`.`f_5` AS DECIMAL(22,6)) AS STRING) ELSE CAST(`m`.`f_5` AS STRING) END, '~') || '3:vip' || COALESCE(CAST(LENGTH(CASE WHEN `m`.`f_6` THEN 'true' WHEN NOT `m`.`f_6` THEN 'false' END) AS STRING) || ':' || CASE WHEN `m`.`f_6` THEN 'true' WHEN NOT `m`.`f_6` THEN 'false' END, '~') || '6:source' || COALESCE(CAST(LENGTH(`m`.`f_7`) AS STRING) || ':' || `m`.`f_7`, '~'))) AS `record_hash`
  FROM mapped AS `m`
),
sendable_rows AS (
  SELECT `m`.*
  FROM keyed AS `m`
  LEFT JOIN (SELECT `record_key`, `record_hash`, `last_status` FROM (SELECT CAST(NULL AS STRING) AS `record_key`, CAST(NULL AS STRING) AS `record_hash`, CAST(NULL AS STRING) AS `destination_id`, CAST(NULL AS STRING) AS `retained`, CAST(NULL AS STRING) AS `last_status`, CAST(NULL AS TIMESTAMP) AS `last_attempt_at`, CAST(NULL AS STRING) AS `last_run_id`, CAST(NULL AS TIMESTAMP) AS `synced_at` FROM (SELECT 1 AS `one`) AS e WHERE 1 = 0) AS `h`) AS `s` ON `s`.`record_key` = `m`.`record_key`
  WHERE `m`.`record_key` IS NOT NULL AND NOT EXISTS (SELECT 1 FROM shared AS `k` WHERE `k`.`record_key` = `m`.`record_key`) AND (`s`.`record_key` IS NULL OR `s`.`record_hash` IS NULL OR `s`.`record_hash` <> `m`.`record_hash`)
)
SELECT CASE WHEN `r`.`record_key` IS NOT NULL THEN 'held_back' WHEN (`s`.`record_key` IS NULL OR `s`.`synced_at` IS NULL) THEN 'added' ELSE 'changed' END AS `op`,
    `m`.`record_key`, `m`.`record_hash`, `s`.`destination_id`, `s`.`retained`, `s`.`last_run_id` AS `prior_run`, COALESCE(`s`.`last_status` = 'in_doubt', FALSE) AS `in_doubt`, `m`.`f_0`, `m`.`f_1`, `m`.`f_2`, `m`.`f_3`, `m`.`f_4`, `m`.`f_5`, `m`.`f_6`, `m`.`f_7`
  FROM sendable_rows AS `m`
  LEFT JOIN (SELECT CAST(NULL AS STRING) AS `record_key`, CAST(NULL AS STRING) AS `record_hash`, CAST(NULL AS STRING) AS `destination_id`, CAST(NULL AS STRING) AS `retained`, CAST(NULL AS STRING) AS `last_status`, CAST(NULL AS TIMESTAMP) AS `last_attempt_at`, CAST(NULL AS STRING) AS `last_run_id`, CAST(NULL AS TIMESTAMP) AS `synced_at` FROM (SELECT 1 AS `one`) AS e WHERE 1 = 0) AS `s` ON `s`.`record_key` = `m`.`record_key`
  LEFT JOIN (SELECT CAST(NULL AS STRING) AS `record_key`, CAST(NULL AS STRING) AS `record_hash` FROM (SELECT 1 AS `one`) AS e WHERE 1 = 0) AS `r` ON `r`.`record_key` = `m`.`record_key` AND `r`.`record_hash` = `m`.`record_hash`
UNION ALL
SELECT CASE WHEN `m`.`record_key` IS NULL THEN 'null_key' ELSE 'duplicate_key' END,
    `m`.`record_key`, CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), FALSE, `m`.`f_0`, `m`.`f_1`, `m`.`f_2`, `m`.`f_3`, `m`.`f_4`, `m`.`f_5`, `m`.`f_6`, `m`.`f_7`
  FROM keyed AS `m`
  WHERE `m`.`record_key` IS NULL OR EXISTS (SELECT 1 FROM shared AS `k` WHERE `k`.`record_key` = `m`.`record_key`)
UNION ALL
SELECT 'removed', `s`.`record_key`, CAST(NULL AS STRING), `s`.`destination_id`, `s`.`retained`, `s`.`last_run_id`, FALSE, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM (SELECT CAST(NULL AS STRING) AS `record_key`, CAST(NULL AS STRING) AS `record_hash`, CAST(NULL AS STRING) AS `destination_id`, CAST(NULL AS STRING) AS `retained`, CAST(NULL AS STRING) AS `last_status`, CAST(NULL AS TIMESTAMP) AS `last_attempt_at`, CAST(NULL AS STRING) AS `last_run_id`, CAST(NULL AS TIMESTAMP) AS `synced_at` FROM (SELECT 1 AS `one`) AS e WHERE 1 = 0) AS `s`
  WHERE NOT EXISTS (SELECT 1 FROM mapped AS `m` WHERE `m`.`record_key` = `s`.`record_key`)
  ) AS p
) AS x WHERE `sample_rank` <= 3;

-- full resync
DROP TABLE IF EXISTS `tideline_state`.`snapshot__crm_contacts`;

DROP TABLE IF EXISTS `tideline_state`.`journal__crm_contacts`;

DROP TABLE IF EXISTS `tideline_state`.`changes__crm_contacts`;

DROP TABLE IF EXISTS `tideline_state`.`unnumbered__crm_contacts`;

DELETE FROM `tideline_state`.`sync_rejected` WHERE `sync_name` = 'crm_contacts';

DELETE FROM `tideline_state`.`sync_meta` WHERE `name` = 'events_watermark:crm_contacts';
