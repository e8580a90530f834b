-- web_orders (staging) for target bigquery (bigquery)
-- Built into `analytics__tl_work`.`web_orders__tl_build`, then swapped in by an atomic replace.

DROP TABLE IF EXISTS `analytics__tl_work`.`web_orders__tl_build`;

-- build
CREATE TABLE `analytics__tl_work`.`web_orders__tl_build` AS
SELECT
  *
FROM `analytics`.`orders_clean` AS src
WHERE `channel` = 'web';

-- swap in
CREATE OR REPLACE TABLE `analytics`.`web_orders` COPY `analytics__tl_work`.`web_orders__tl_build`;
DROP TABLE IF EXISTS `analytics__tl_work`.`web_orders__tl_build`;
