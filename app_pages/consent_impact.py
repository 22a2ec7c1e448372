"""Placeholder until this page lands."""
import streamlit as st

st.title("consent_impact")
st.info("This page is being built.")
