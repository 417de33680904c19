"""Every CloudWatch Logs operation family Cairn serves, driven by a recent boto3.

Usage: boto3_families.py ENDPOINT. Credentials come from the environment (the
server's root key, through AWS_SHARED_CREDENTIALS_FILE). Each family runs its
happy path and one error; expected values are written by hand or computed
here from the events the script put, never read back from Cairn first. Every
mismatch is collected (one family's surprise does not hide the next one's)
and printed; the script exits 1 if there was any.
"""

import json
import sys
import time
import traceback

import boto3
import botocore.config
from botocore.exceptions import ClientError

logs = boto3.client("logs", endpoint_url=sys.argv[1], region_name="us-east-1",
                    config=botocore.config.Config(retries={"total_max_attempts": 1}))
ops = set(logs.meta.service_model.operation_names)
failures = []
now = int(time.time() * 1000)


def check(cond, what, got=None):
    if not cond:
        failures.append("%s (got %r)" % (what, got))


def expect_error(code, fn, message=None, **kw):
    """Calls fn and checks it fails with code and HTTP 400 (and message, where
    AWS's text is known)."""
    try:
        r = fn(**kw)
    except ClientError as e:
        err = e.response["Error"]
        status = e.response["ResponseMetadata"]["HTTPStatusCode"]
        check(err["Code"] == code and status == 400 and message in (None, err.get("Message")),
              "%s(%s): want %s (400) %r" % (fn.__name__, kw, code, message), (err["Code"], status, err.get("Message")))
        return
    check(False, "%s(%s): want %s, it succeeded" % (fn.__name__, kw, code), r)


def poll(what, fn, done, timeout=30):
    """Calls fn until done(result) or the deadline; a miss is a failure."""
    deadline = time.time() + timeout
    while True:
        r = fn()
        if done(r):
            return r
        if time.time() > deadline:
            check(False, "%s: not done within %ds" % (what, timeout), r)
            return r
        time.sleep(0.2)  # polling a condition, not synchronising on time


G = "fam/app"
group_arn = None  # the group's ARN without ":*", set by the first family
account = None
events = [{"timestamp": now - 60000 + i, "message": json.dumps(
    {"level": "ERROR" if i % 3 == 0 else "INFO", "n": i})} for i in range(20)]
errors = sum(1 for e in events if json.loads(e["message"])["level"] == "ERROR")


def family_groups():
    global group_arn, account
    logs.create_log_group(logGroupName=G, tags={"team": "core"})
    logs.create_log_stream(logGroupName=G, logStreamName="s1")
    r = logs.put_log_events(logGroupName=G, logStreamName="s1", logEvents=events)
    check("rejectedLogEventsInfo" not in r, "put_log_events: nothing rejected", r.get("rejectedLogEventsInfo"))
    groups = logs.describe_log_groups(logGroupNamePrefix="fam/")["logGroups"]
    check([g["logGroupName"] for g in groups] == [G], "describe_log_groups prefix fam/", groups)
    arn = groups[0]["arn"]
    check(arn.startswith("arn:aws:logs:us-east-1:") and arn.endswith(":log-group:%s:*" % G), "group arn", arn)
    group_arn = arn[:-2]
    account = arn.split(":")[4]
    check(groups[0].get("logGroupArn") == group_arn, "describe_log_groups logGroupArn", groups[0].get("logGroupArn"))
    if "ListLogGroups" in ops:
        lg = logs.list_log_groups(logGroupNamePattern="fam")["logGroups"]
        check([g["logGroupName"] for g in lg] == [G], "list_log_groups pattern fam", lg)
        check(lg and lg[0].get("logGroupArn") == group_arn, "list_log_groups logGroupArn", lg)
    streams = logs.describe_log_streams(logGroupName=G)["logStreams"]
    check([s["logStreamName"] for s in streams] == ["s1"], "describe_log_streams", streams)
    got = logs.get_log_events(logGroupName=G, logStreamName="s1", startFromHead=True)["events"]
    check([e["message"] for e in got] == [e["message"] for e in events], "get_log_events: the 20 events in order",
          [e["message"] for e in got])
    f = logs.filter_log_events(logGroupName=G, filterPattern='{ $.level = "ERROR" }')["events"]
    check(len(f) == errors, "filter_log_events ERROR count %d" % errors, len(f))
    expect_error("ResourceAlreadyExistsException", logs.create_log_stream,
                 message="The specified log stream already exists", logGroupName=G, logStreamName="s1")
    expect_error("ResourceNotFoundException", logs.get_log_events, message="The specified log group does not exist.",
                 logGroupName="fam/missing", logStreamName="s1")


def family_insights():
    q = logs.start_query(logGroupName=G, startTime=(now - 3600000) // 1000, endTime=now // 1000 + 60,
                         queryString='filter level = "ERROR" | stats count(*) as c')
    r = poll("get_query_results", lambda: logs.get_query_results(queryId=q["queryId"]),
             lambda r: r["status"] not in ("Scheduled", "Running"))
    check(r["status"] == "Complete", "query status", r["status"])
    check(r["results"] == [[{"field": "c", "value": str(errors)}]], "stats count(*) of ERROR events = %d" % errors,
          r["results"])
    d = logs.put_query_definition(name="fam/errors", queryString="fields @message | limit 5", logGroupNames=[G])
    defs = logs.describe_query_definitions(queryDefinitionNamePrefix="fam/")["queryDefinitions"]
    check(len(defs) == 1 and defs[0]["queryDefinitionId"] == d["queryDefinitionId"] and
          defs[0]["queryString"] == "fields @message | limit 5" and defs[0]["logGroupNames"] == [G],
          "describe_query_definitions", defs)
    r = logs.delete_query_definition(queryDefinitionId=d["queryDefinitionId"])
    check(r.get("success") is True, "delete_query_definition success", r)
    check(logs.describe_query_definitions(queryDefinitionNamePrefix="fam/")["queryDefinitions"] == [],
          "query definitions after delete", None)
    fields = {f["name"] for f in logs.get_log_group_fields(logGroupName=G)["logGroupFields"]}
    check({"@message", "@timestamp", "level", "n"} <= fields, "get_log_group_fields has @message @timestamp level n",
          fields)
    expect_error("MalformedQueryException", logs.start_query, logGroupName=G, startTime=0, endTime=now // 1000,
                 queryString="stats count(")


def family_subscriptions():
    kinesis = "arn:aws:kinesis:us-east-1:%s:stream/nowhere" % account
    role = "arn:aws:iam::%s:role/to-kinesis" % account
    logs.put_subscription_filter(logGroupName=G, filterName="to-kinesis", filterPattern="ERROR",
                                 destinationArn=kinesis, roleArn=role)
    f = logs.describe_subscription_filters(logGroupName=G)["subscriptionFilters"]
    check(len(f) == 1 and f[0]["filterName"] == "to-kinesis" and f[0]["destinationArn"] == kinesis and
          f[0]["roleArn"] == role and f[0]["filterPattern"] == "ERROR" and f[0]["logGroupName"] == G,
          "describe_subscription_filters", f)
    logs.delete_subscription_filter(logGroupName=G, filterName="to-kinesis")
    check(logs.describe_subscription_filters(logGroupName=G)["subscriptionFilters"] == [],
          "subscription filters after delete", None)
    expect_error("ResourceNotFoundException", logs.delete_subscription_filter, logGroupName=G, filterName="to-kinesis")

    d = logs.put_destination(destinationName="fam-dest", targetArn=kinesis, roleArn=role)["destination"]
    check(d["arn"] == "arn:aws:logs:us-east-1:%s:destination:fam-dest" % account and d["targetArn"] == kinesis,
          "put_destination", d)
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "111122223333"},
                         "Action": "logs:PutSubscriptionFilter", "Resource": d["arn"]}]})
    logs.put_destination_policy(destinationName="fam-dest", accessPolicy=policy)
    ds = logs.describe_destinations(DestinationNamePrefix="fam-")["destinations"]
    check(len(ds) == 1 and ds[0]["destinationName"] == "fam-dest" and json.loads(ds[0].get("accessPolicy", "null")) ==
          json.loads(policy), "describe_destinations with the policy", ds)
    logs.delete_destination(destinationName="fam-dest")
    expect_error("ResourceNotFoundException", logs.delete_destination, destinationName="fam-dest")


def family_metric_filters():
    t = [{"metricName": "Errors", "metricNamespace": "Fam", "metricValue": "1"}]
    logs.put_metric_filter(logGroupName=G, filterName="errors", filterPattern='{ $.level = "ERROR" }',
                           metricTransformations=t)
    f = logs.describe_metric_filters(logGroupName=G)["metricFilters"]
    check(len(f) == 1 and f[0]["filterName"] == "errors" and f[0]["metricTransformations"][0]["metricName"] == "Errors"
          and f[0]["metricTransformations"][0]["metricValue"] == "1", "describe_metric_filters", f)
    msgs = ["ERROR 10.0.0.1 503", "INFO 10.0.0.2 200", "ERROR 10.0.0.3 500"]
    r = logs.test_metric_filter(filterPattern="[level=ERROR, ip, status]", logEventMessages=msgs)["matches"]
    check([(m["eventNumber"], m["eventMessage"]) for m in r] == [(1, msgs[0]), (3, msgs[2])],
          "test_metric_filter matches events 1 and 3", r)
    check(r and r[0]["extractedValues"] == {"$level": "ERROR", "$ip": "10.0.0.1", "$status": "503"},
          "test_metric_filter extractedValues", r and r[0].get("extractedValues"))
    logs.delete_metric_filter(logGroupName=G, filterName="errors")
    check(logs.describe_metric_filters(logGroupName=G)["metricFilters"] == [], "metric filters after delete", None)
    expect_error("ResourceNotFoundException", logs.delete_metric_filter, logGroupName=G, filterName="errors")


def dp_document(name):
    ident = ["arn:aws:dataprotection::aws:data-identifier/EmailAddress"]
    return json.dumps({"Name": name, "Version": "2021-06-01", "Statement": [
        {"Sid": "audit", "DataIdentifier": ident, "Operation": {"Audit": {"FindingsDestination": {}}}},
        {"Sid": "redact", "DataIdentifier": ident, "Operation": {"Deidentify": {"MaskConfig": {}}}}]})


def family_data_protection():
    logs.create_log_group(logGroupName="fam/dp")
    logs.create_log_stream(logGroupName="fam/dp", logStreamName="s")
    r = logs.put_data_protection_policy(logGroupIdentifier="fam/dp", policyDocument=dp_document("dp"))
    check(r.get("logGroupIdentifier") == "fam/dp", "put_data_protection_policy logGroupIdentifier", r)
    g = logs.get_data_protection_policy(logGroupIdentifier="fam/dp")
    check(json.loads(g.get("policyDocument", "{}")).get("Name") == "dp", "get_data_protection_policy document", g)
    logs.put_log_events(logGroupName="fam/dp", logStreamName="s",
                        logEvents=[{"timestamp": now, "message": "mail alice@example.com now"}])
    got = [e["message"] for e in logs.get_log_events(logGroupName="fam/dp", logStreamName="s")["events"]]
    # AWS masks a match with asterisks ("****" in its documented examples).
    check(len(got) == 1 and "alice@example.com" not in got[0] and got[0].startswith("mail ") and
          got[0].endswith(" now") and "*" in got[0], "the email is read back masked", got)
    logs.delete_data_protection_policy(logGroupIdentifier="fam/dp")
    expect_error("ResourceNotFoundException", logs.get_data_protection_policy, logGroupIdentifier="fam/missing")


def family_account_policies():
    r = logs.put_account_policy(policyName="fam-acct", policyDocument=dp_document("acct"),
                                policyType="DATA_PROTECTION_POLICY", scope="ALL")["accountPolicy"]
    check(r["policyName"] == "fam-acct" and r["policyType"] == "DATA_PROTECTION_POLICY" and r["scope"] == "ALL" and
          r["accountId"] == account, "put_account_policy", r)
    ps = logs.describe_account_policies(policyType="DATA_PROTECTION_POLICY")["accountPolicies"]
    check([p["policyName"] for p in ps] == ["fam-acct"], "describe_account_policies", ps)
    logs.delete_account_policy(policyName="fam-acct", policyType="DATA_PROTECTION_POLICY")
    check(logs.describe_account_policies(policyType="DATA_PROTECTION_POLICY")["accountPolicies"] == [],
          "account policies after delete", None)
    expect_error("ResourceNotFoundException", logs.delete_account_policy, policyName="fam-acct",
                 policyType="DATA_PROTECTION_POLICY")


def family_transformers():
    logs.create_log_group(logGroupName="fam/tx")
    cfg = [{"parseJSON": {}}]
    logs.put_transformer(logGroupIdentifier="fam/tx", transformerConfig=cfg)
    g = logs.get_transformer(logGroupIdentifier="fam/tx")
    # The model documents GetTransformer's logGroupIdentifier as "the ARN of
    # the log group that you specified in your request".
    check(g.get("transformerConfig") == cfg and g.get("logGroupIdentifier") == group_arn.replace(G, "fam/tx"),
          "get_transformer", g)
    r = logs.test_transformer(transformerConfig=cfg, logEventMessages=['{"a": 1, "b": "x"}'])["transformedLogs"]
    check(len(r) == 1 and r[0]["eventNumber"] == 1 and json.loads(r[0]["transformedEventMessage"]) == {"a": 1, "b": "x"},
          "test_transformer parseJSON", r)
    logs.delete_transformer(logGroupIdentifier="fam/tx")
    expect_error("ResourceNotFoundException", logs.put_transformer, logGroupIdentifier="fam/missing",
                 transformerConfig=cfg)


def family_anomaly_detectors():
    arn = logs.create_log_anomaly_detector(logGroupArnList=[group_arn], detectorName="fam-det",
                                           evaluationFrequency="FIVE_MIN")["anomalyDetectorArn"]
    check(arn.startswith("arn:aws:logs:us-east-1:%s:anomaly-detector:" % account), "anomaly detector arn", arn)
    g = logs.get_log_anomaly_detector(anomalyDetectorArn=arn)
    check(g.get("detectorName") == "fam-det" and g.get("logGroupArnList") == [group_arn] and
          g.get("evaluationFrequency") == "FIVE_MIN", "get_log_anomaly_detector", g)
    ls = logs.list_log_anomaly_detectors(filterLogGroupArn=group_arn)["anomalyDetectors"]
    check([d["anomalyDetectorArn"] for d in ls] == [arn], "list_log_anomaly_detectors", ls)
    logs.update_log_anomaly_detector(anomalyDetectorArn=arn, enabled=False, evaluationFrequency="TEN_MIN")
    g = logs.get_log_anomaly_detector(anomalyDetectorArn=arn)
    check(g.get("evaluationFrequency") == "TEN_MIN" and g.get("anomalyDetectorStatus") == "PAUSED",
          "after update: TEN_MIN and PAUSED", g)
    logs.delete_log_anomaly_detector(anomalyDetectorArn=arn)
    expect_error("ResourceNotFoundException", logs.get_log_anomaly_detector, anomalyDetectorArn=arn)


def family_resource_policies():
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service":
                      "route53.amazonaws.com"}, "Action": ["logs:PutLogEvents", "logs:CreateLogStream"], "Resource": "*"}]})
    r = logs.put_resource_policy(policyName="fam-rp", policyDocument=doc)["resourcePolicy"]
    check(r["policyName"] == "fam-rp" and json.loads(r["policyDocument"]) == json.loads(doc), "put_resource_policy", r)
    ps = logs.describe_resource_policies()["resourcePolicies"]
    check([p["policyName"] for p in ps] == ["fam-rp"], "describe_resource_policies", ps)
    logs.delete_resource_policy(policyName="fam-rp")
    expect_error("ResourceNotFoundException", logs.delete_resource_policy, policyName="fam-rp")


def family_deliveries():
    cf = "arn:aws:cloudfront::%s:distribution/E1FAMILY0000" % account
    s = logs.put_delivery_source(name="fam-src", resourceArn=cf, logType="ACCESS_LOGS")["deliverySource"]
    check(s["name"] == "fam-src" and s["service"] == "cloudfront" and s["resourceArns"] == [cf] and
          s["logType"] == "ACCESS_LOGS", "put_delivery_source", s)
    check(logs.get_delivery_source(name="fam-src")["deliverySource"]["arn"] == s["arn"], "get_delivery_source", None)
    check([x["name"] for x in logs.describe_delivery_sources()["deliverySources"]] == ["fam-src"],
          "describe_delivery_sources", None)
    d = logs.put_delivery_destination(name="fam-dst", deliveryDestinationConfiguration={
        "destinationResourceArn": "arn:aws:s3:::fam-bucket"})["deliveryDestination"]
    check(d["name"] == "fam-dst" and d["deliveryDestinationType"] == "S3", "put_delivery_destination", d)
    check(logs.get_delivery_destination(name="fam-dst")["deliveryDestination"]["arn"] == d["arn"],
          "get_delivery_destination", None)
    check([x["name"] for x in logs.describe_delivery_destinations()["deliveryDestinations"]] == ["fam-dst"],
          "describe_delivery_destinations", None)
    dl = logs.create_delivery(deliverySourceName="fam-src", deliveryDestinationArn=d["arn"])["delivery"]
    check(dl["deliverySourceName"] == "fam-src" and dl["deliveryDestinationArn"] == d["arn"] and
          dl["deliveryDestinationType"] == "S3", "create_delivery", dl)
    check(logs.get_delivery(id=dl["id"])["delivery"]["arn"] == dl["arn"], "get_delivery", None)
    check([x["id"] for x in logs.describe_deliveries()["deliveries"]] == [dl["id"]], "describe_deliveries", None)
    logs.delete_delivery(id=dl["id"])
    logs.delete_delivery_destination(name="fam-dst")
    logs.delete_delivery_source(name="fam-src")
    expect_error("ResourceNotFoundException", logs.get_delivery_source, name="fam-src")


def family_integrations():
    cfg = {"openSearchResourceConfig": {"dataSourceRoleArn": "arn:aws:iam::%s:role/os" % account,
                                        "dashboardViewerPrincipals": ["arn:aws:iam::%s:role/viewer" % account],
                                        "retentionDays": 7}}
    r = logs.put_integration(integrationName="fam-os", resourceConfig=cfg, integrationType="OPENSEARCH")
    check(r.get("integrationName") == "fam-os" and r.get("integrationStatus") in ("PROVISIONING", "ACTIVE"),
          "put_integration", r)
    g = logs.get_integration(integrationName="fam-os")
    check(g.get("integrationName") == "fam-os" and g.get("integrationType") == "OPENSEARCH", "get_integration", g)
    ls = logs.list_integrations()["integrationSummaries"]
    check([i["integrationName"] for i in ls] == ["fam-os"], "list_integrations", ls)
    logs.delete_integration(integrationName="fam-os")
    expect_error("ResourceNotFoundException", logs.get_integration, integrationName="fam-os")


# Syslog configuration (PutSyslogConfiguration) is Cairn's own operation and
# not in any boto3 model, so that family is not driven from here (the server
# is also not started with --syslog-listen); e2e/syslog_test.go covers it.


def family_tags():
    logs.tag_resource(resourceArn=group_arn, tags={"env": "e2e"})
    t = logs.list_tags_for_resource(resourceArn=group_arn)["tags"]
    check(t == {"team": "core", "env": "e2e"}, "list_tags_for_resource", t)
    logs.untag_resource(resourceArn=group_arn, tagKeys=["team"])
    t = logs.list_tags_log_group(logGroupName=G)["tags"]
    check(t == {"env": "e2e"}, "list_tags_log_group after untag", t)
    missing = group_arn.replace(G, "fam/missing")
    expect_error("ResourceNotFoundException", logs.tag_resource, resourceArn=missing, tags={"a": "b"})


def family_exports():
    r = logs.describe_export_tasks()["exportTasks"]
    check(r == [], "describe_export_tasks with none created", r)
    expect_error("ResourceNotFoundException", logs.cancel_export_task, taskId="00000000-0000-0000-0000-000000000000")


for family in (family_groups, family_insights, family_subscriptions, family_metric_filters, family_data_protection,
               family_account_policies, family_transformers, family_anomaly_detectors, family_resource_policies,
               family_deliveries, family_integrations, family_tags, family_exports):
    try:
        family()
    except Exception:  # noqa: BLE001 - one family's failure is reported and the next one still runs
        failures.append("%s raised:\n%s" % (family.__name__, traceback.format_exc()))
    if group_arn is None:
        break  # every later family needs the group

if failures:
    print("%d mismatch(es):\n- %s" % (len(failures), "\n- ".join(failures)), file=sys.stderr)
    sys.exit(1)
print("ok: %d families, boto3 %s" % (13, boto3.__version__))
