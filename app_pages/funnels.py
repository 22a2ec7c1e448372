"""Placeholder until this page lands."""
import streamlit as st

st.title("funnels")
st.info("This page is being built.")
