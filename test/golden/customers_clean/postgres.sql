-- customers_clean (staging) for target postgres (postgres)
-- Built inside one transaction, into "analytics__tl_work"."customers_clean__tl_build", then swapped in before it commits.

DROP TABLE IF EXISTS "analytics__tl_work"."customers_clean__tl_build";

-- build
CREATE TABLE "analytics__tl_work"."customers_clean__tl_build" AS
SELECT "customer_id", "email", "phone_digits", "first_name", "country", "email_sha256", "created_at"
FROM (
  SELECT projected.*, ROW_NUMBER() OVER (PARTITION BY "email" ORDER BY "created_at" DESC NULLS LAST, "customer_id" ASC NULLS LAST, "email" ASC NULLS LAST, "phone_digits" ASC NULLS LAST, "first_name" ASC NULLS LAST, "country" ASC NULLS LAST, "email_sha256" ASC NULLS LAST) AS "__tideline_rank"
  FROM (
    SELECT
      CAST("id" AS TEXT) AS "customer_id",
      NULLIF(lower(btrim(CAST("email" AS TEXT))), '') AS "email",
      NULLIF(regexp_replace(CAST("phone" AS TEXT), '[^0-9]', '', 'g'), '') AS "phone_digits",
      lower(regexp_replace(btrim(CAST("first_name" AS TEXT)), '[[:space:]]+', ' ', 'g')) AS "first_name",
      upper(btrim(CAST("country" AS TEXT))) AS "country",
      encode(sha256(convert_to(lower(btrim(CAST("email" AS TEXT))), 'UTF8')), 'hex') AS "email_sha256",
      "created_at" AS "created_at"
    FROM "raw"."customers" AS src
    WHERE ("status" NOT IN ('test', 'deleted') OR "status" IS NULL)
      AND "created_at" >= CAST('2023-01-01 00:00:00.000' AS TIMESTAMP)
  ) AS projected
) AS ranked
WHERE "__tideline_rank" = 1 OR "email" IS NULL;

-- swap in
DROP TABLE IF EXISTS "analytics"."customers_clean";
ALTER TABLE "analytics__tl_work"."customers_clean__tl_build" RENAME TO "customers_clean";
ALTER TABLE "analytics__tl_work"."customers_clean" SET SCHEMA "analytics";
