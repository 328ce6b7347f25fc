DROP TABLE IF EXISTS leases;
DROP TABLE IF EXISTS topology_versions;
DROP TABLE IF EXISTS topology_nodes;
DROP TABLE IF EXISTS registry_changes;
DROP TABLE IF EXISTS node_registrations;
