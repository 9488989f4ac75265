DROP INDEX case_arms_experiment;
DROP TABLE case_arms;
DROP TABLE experiment_arms;
DROP INDEX experiments_status;
DROP TABLE experiments;
