  ;; -- only
 /* comments */ ;
