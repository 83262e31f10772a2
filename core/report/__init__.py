"""The consult report (issue #21): the model, and its PDF, DICOM SR/KOS and FHIR R4 forms."""
