"""An S3 download that fails part way leaves no folder behind, whichever way it fails: the
service refusing an object (botocore's ClientError) as much as an error of our own."""

import pytest

import tf_session
from tests.machinery.conftest import upload

DENY_LOCKED = ('{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", '
               '"Action": "s3:GetObject", "Resource": "arn:aws:s3:::models/%s/*"}]}')


def test_an_object_the_service_refuses_leaves_nothing_behind(s3, formats, tmp_path):
    upload(s3, formats["saved_model_other_signature"], "half-locked/")  # several objects
    s3.put_bucket_policy(Bucket="models", Policy=DENY_LOCKED % "half-locked/variables")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    try:
        with pytest.raises(tf_session.ModelError, match="cannot be read from S3: .*(403|"
                                                        "Forbidden|AccessDenied)"):
            tf_session.download_from_s3("s3://models/half-locked/", str(downloads))
    finally:
        s3.delete_bucket_policy(Bucket="models")
    assert list(downloads.iterdir()) == []
    # and the same download, allowed, lands: the folder was there and in use before
    path = tf_session.download_from_s3("s3://models/half-locked/", str(downloads))
    assert path.startswith(str(downloads)) and len(list(downloads.iterdir())) == 1
