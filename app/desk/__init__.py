"""社区事务受理服务中心: the service desk. Clerks register residents in person (with a printed
sign-in card for those without a mobile phone), verify real names, and record written consents
for helpers and family members (帮办代办). Every desk action is in the audit log with the resident
as its subject, and listed to the resident."""
