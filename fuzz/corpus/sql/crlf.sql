CREATE TABLE x (a);
-- c;
INSERT INTO t VALUES (1);
/* d
; */
SELECT 1
