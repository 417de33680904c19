"""logs:Unmask through boto3: GetLogEvents and FilterLogEvents with unmask=True.

Usage: boto3_unmask.py ENDPOINT. The shared credentials file has two
profiles: "admin" (allowed logs:*) and "masked" (logs:* but logs:Unmask
denied). Under a data protection policy for e-mail and IP addresses, both see
the masked events; with unmask=True the admin sees the originals and the
masked user gets AccessDeniedException. The masked texts are written by hand
(one asterisk per character). Every mismatch is printed; exit 1 if any.
"""

import sys
import time

import boto3
import botocore.config
from botocore.exceptions import ClientError

endpoint = sys.argv[1]
cfg = botocore.config.Config(retries={"total_max_attempts": 1})
admin = boto3.Session(profile_name="admin").client("logs", endpoint_url=endpoint, region_name="us-east-1", config=cfg)
masked = boto3.Session(profile_name="masked").client("logs", endpoint_url=endpoint, region_name="us-east-1", config=cfg)
failures = []


def check(cond, what, got=None):
    if not cond:
        failures.append("%s (got %r)" % (what, got))


group, stream = "/e2e/unmask", "s"
managed = "arn:aws:dataprotection::aws:data-identifier/"
ids = [managed + "EmailAddress", managed + "IpAddress"]
policy = ('{"Name":"unmask-e2e","Version":"2021-06-01","Statement":['
          '{"Sid":"audit","DataIdentifier":%s,"Operation":{"Audit":{"FindingsDestination":{}}}},'
          '{"Sid":"redact","DataIdentifier":%s,"Operation":{"Deidentify":{"MaskConfig":{}}}}]}') % (
    str(ids).replace("'", '"'), str(ids).replace("'", '"'))

admin.create_log_group(logGroupName=group)
admin.create_log_stream(logGroupName=group, logStreamName=stream)
admin.put_data_protection_policy(logGroupIdentifier=group, policyDocument=policy)
originals = ["login alice@example.com from 10.1.2.3 ok", "no personal data here", "bob.smith@example.org failed"]
want_masked = ["login " + "*" * 17 + " from " + "*" * 8 + " ok", "no personal data here", "*" * 21 + " failed"]
now = int(time.time() * 1000)
admin.put_log_events(logGroupName=group, logStreamName=stream,
                     logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(originals)])


def get(client, **kw):
    return [e["message"] for e in client.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True, **kw)["events"]]


def filt(client, **kw):
    return [e["message"] for e in client.filter_log_events(logGroupName=group, **kw)["events"]]


for name, client in (("admin", admin), ("masked", masked)):
    check(get(client) == want_masked, name + ": GetLogEvents without unmask is masked", get(client))
    check(filt(client) == want_masked, name + ": FilterLogEvents without unmask is masked", filt(client))
check(get(admin, unmask=True) == originals, "admin: GetLogEvents unmask=True returns the originals", get(admin, unmask=True))
check(filt(admin, unmask=True) == originals, "admin: FilterLogEvents unmask=True returns the originals", filt(admin, unmask=True))
# A filter pattern is matched against what is stored (masked): the address
# itself finds nothing, even unmasked.
check(filt(admin, unmask=True, filterPattern='"alice"') == [], "admin: a pattern on a masked value matches nothing",
      filt(admin, unmask=True, filterPattern='"alice"'))
check(filt(admin, unmask=True, filterPattern="login") == originals[:1], "admin: unmask=True with a pattern",
      filt(admin, unmask=True, filterPattern="login"))
for op, fn in (("GetLogEvents", get), ("FilterLogEvents", filt)):
    try:
        got = fn(masked, unmask=True)
        failures.append("masked: %s unmask=True answered %r, want AccessDeniedException" % (op, got))
    except ClientError as e:
        err = e.response["Error"]
        check(err["Code"] == "AccessDeniedException" and e.response["ResponseMetadata"]["HTTPStatusCode"] == 400,
              "masked: %s unmask=True is AccessDeniedException" % op, (err, e.response["ResponseMetadata"]["HTTPStatusCode"]))
        check("logs:Unmask" in err.get("Message", ""), "masked: %s's refusal names logs:Unmask" % op, err.get("Message"))

if failures:
    print("\n".join(failures))
    sys.exit(1)
print("boto3 %s: unmask ok (GetLogEvents, FilterLogEvents; allowed and denied)" % boto3.__version__)
