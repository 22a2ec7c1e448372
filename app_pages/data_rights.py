"""Placeholder until this page lands."""
import streamlit as st

st.title("data_rights")
st.info("This page is being built.")
