"""cliptail.curate"""
