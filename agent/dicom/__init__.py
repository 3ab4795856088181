"""DICOM dose reports both ways: read the consoles' RDSRs, write standard reports for what doseedge measured.

Nothing here is imported by a station without a `[dicom]` section: pydicom and pynetdicom load only when
a DICOM station starts or `doseedge dicom …` runs (tests/agent/dicom/test_imports.py).
"""
