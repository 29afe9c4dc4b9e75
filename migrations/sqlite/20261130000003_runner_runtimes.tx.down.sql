ALTER TABLE runners DROP COLUMN runtimes;
