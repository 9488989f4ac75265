DROP TABLE settings;
DROP TABLE jobs;
DROP TABLE recovery_actions;
DROP TABLE cases;
DROP TABLE events;
