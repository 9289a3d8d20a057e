-- é ünïcödé 日本語; ok
SELECT 'é;ü' AS "列"; SELECT '😀' || name FROM users; /* ß */