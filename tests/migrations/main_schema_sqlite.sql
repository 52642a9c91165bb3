-- The partner-center schema exactly as main's code created it at run time before
-- migrations existed (commit ee56426, activities/sql/schema.py create_or_upgrade:
-- metadata.create_all), compiled for sqlite. Frozen: never edit; the migration
-- tests build a database "the old way" from it.

CREATE TABLE accounts (
	uin VARCHAR(20) NOT NULL,
	name VARCHAR(200),
	owner_uin VARCHAR(20),
	frozen BOOLEAN NOT NULL,
	credit_cents BIGINT NOT NULL,
	overdue_privilege VARCHAR(32) NOT NULL,
	group_role VARCHAR(32) NOT NULL,
	savings_unit VARCHAR(64),
	card_bound BOOLEAN NOT NULL,
	created_at DATETIME NOT NULL,
	PRIMARY KEY (uin),
	FOREIGN KEY(owner_uin) REFERENCES accounts (uin),
	CONSTRAINT overdueprivilege_values CHECK (overdue_privilege IN ('none', 'postpaid', 'prepaid')),
	CONSTRAINT grouprole_values CHECK (group_role IN ('none', 'admin', 'member'))
);

CREATE TABLE audit_refusals (
	id INTEGER NOT NULL,
	at DATETIME NOT NULL,
	principal VARCHAR(128),
	method VARCHAR(16) NOT NULL,
	path TEXT NOT NULL,
	action VARCHAR(32),
	customer_uin VARCHAR(64),
	status_code INTEGER NOT NULL,
	reason TEXT NOT NULL,
	PRIMARY KEY (id)
);

CREATE INDEX ix_audit_refusals_at ON audit_refusals (at);

CREATE TABLE inbox (
	id INTEGER NOT NULL,
	recipient_uin VARCHAR(20) NOT NULL,
	application_id VARCHAR(64) NOT NULL,
	workflow_id VARCHAR(128) NOT NULL,
	event VARCHAR(64) NOT NULL,
	subject TEXT NOT NULL,
	body TEXT NOT NULL,
	at DATETIME NOT NULL,
	delivered_at DATETIME NOT NULL,
	PRIMARY KEY (id)
);

CREATE INDEX ix_inbox_recipient_uin ON inbox (recipient_uin);

CREATE UNIQUE INDEX one_message_per_event_of_a_workflow ON inbox (application_id, workflow_id, event, recipient_uin);

CREATE TABLE unbinding_records (
	application_id VARCHAR(64) NOT NULL,
	workflow_id VARCHAR(128) NOT NULL,
	revision INTEGER NOT NULL,
	customer_uin VARCHAR(20) NOT NULL,
	initiator_uin VARCHAR(20) NOT NULL,
	reseller_uin VARCHAR(20),
	distributor_uin VARCHAR(20),
	status VARCHAR(32) NOT NULL,
	failed_checks TEXT NOT NULL,
	deadline DATETIME,
	submitted_at DATETIME NOT NULL,
	notice_acknowledged_by VARCHAR(20) NOT NULL,
	notice_acknowledged_at DATETIME NOT NULL,
	reason TEXT,
	effective_at DATETIME,
	updated_at DATETIME NOT NULL,
	PRIMARY KEY (application_id)
);

CREATE INDEX ix_unbinding_records_customer_uin ON unbinding_records (customer_uin);

CREATE TABLE partners (
	uin VARCHAR(20) NOT NULL,
	kind VARCHAR(32) NOT NULL,
	distributor_uin VARCHAR(20),
	PRIMARY KEY (uin),
	FOREIGN KEY(uin) REFERENCES accounts (uin),
	CONSTRAINT partnerkind_values CHECK (kind IN ('reseller', 'distributor', 'second_level_reseller')),
	FOREIGN KEY(distributor_uin) REFERENCES partners (uin)
);

CREATE TABLE agreements (
	id INTEGER NOT NULL,
	customer_uin VARCHAR(20) NOT NULL,
	partner_uin VARCHAR(20) NOT NULL,
	state VARCHAR(32) NOT NULL,
	signed_at DATETIME NOT NULL,
	invalidated_at DATETIME,
	invalidated_by_application VARCHAR(64),
	PRIMARY KEY (id),
	FOREIGN KEY(customer_uin) REFERENCES accounts (uin),
	FOREIGN KEY(partner_uin) REFERENCES partners (uin),
	CONSTRAINT agreementstate_values CHECK (state IN ('active', 'invalidated'))
);

CREATE UNIQUE INDEX one_active_agreement_per_customer ON agreements (customer_uin) WHERE state = 'active';

CREATE TABLE cutovers (
	application_id VARCHAR(64) NOT NULL,
	customer_uin VARCHAR(20) NOT NULL,
	partner_uin VARCHAR(20) NOT NULL,
	agreement_id INTEGER NOT NULL,
	effective_at DATETIME NOT NULL,
	PRIMARY KEY (application_id),
	FOREIGN KEY(agreement_id) REFERENCES agreements (id)
);
