"""The fleet office's web app: the HHTs' sync API and the supervisors' pages."""
