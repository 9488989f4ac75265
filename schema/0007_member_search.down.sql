DROP INDEX member_search_event;
DROP TABLE member_search;
