"""Screening service: checks applications against the round's rule set
(《湖北省制造业中试平台培育建设工作指引》五、条件要求)."""
